// Running the text cases (regs, sregs, run, interrupt, stop) and checking
// vcpu1's answers by running it.
import fs from 'node:fs';
import { V } from './fuzz-args.mjs';
import { ALLOWED, grammarAnswer, grammarInterrupt, grammarRegs, grammarSregs, hex, isBlank } from './fuzz-contract.mjs';
import { attempt, checkLastError, runOnce, writeText } from './fuzz-io.mjs';
import { checkOutcome, countWrite, fail, summary } from './fuzz-results.mjs';
import { checkRegsWrite, checkSregsWrite, noChange, resync } from './fuzz-verify.mjs';

let answer; // the value accepted for vcpu1's pending `io in`, delivered by its next run
let answersSinceRun = 0;
/** the writes to vcpu1/run since it last ran: the suspects if the run shows the wrong value */
let answerCasesSinceRun = [];

/** Two writes on one open regs file: the first at 0, the second at (or past) where the first ended. */
function runContinuationCase(c) {
  const fd = fs.openSync(`${V}/${c.file}`, fs.constants.O_WRONLY);
  try {
    c.outcome = attempt(() => fs.writeSync(fd, c.data, 0, c.data.length, 0));
    countWrite(c);
    checkOutcome(c, ALLOWED.text);
    if (c.outcome !== 'ok') {
      checkLastError(c, c.file);
      noChange(c);
      return;
    }
    checkRegsWrite(c, grammarRegs(c.data.toString('utf8')));
    const d = { ...c, gen: `${c.gen}:second`, data: c.second, offset: c.data.length + c.gap, expect: c.secondExpect };
    d.outcome = attempt(() => fs.writeSync(fd, d.data, 0, d.data.length, d.offset));
    countWrite(d);
    checkOutcome(d, ALLOWED.text);
    if (d.outcome !== 'ok') {
      checkLastError(d, d.file, /write at offset/);
      noChange(d);
      return;
    }
    checkRegsWrite(d, grammarRegs(d.data.toString('utf8')));
  } finally {
    fs.closeSync(fd);
  }
}

export function runTextCase(c) {
  if (c.second) return runContinuationCase(c);
  if (c.file === 'vcpu1/run') answerCasesSinceRun.push(c);
  c.outcome = writeText(c);
  countWrite(c);
  const allowed = c.file === 'vcpu0/interrupt' ? ALLOWED.interrupt : c.file === 'vcpu0/sregs' ? ALLOWED.sregs : ALLOWED.text;
  const text = c.data.toString('utf8');
  // what the grammar says, for cases whose generator leaves it open
  if (!c.expect) {
    let ok;
    if (isBlank(c.data)) ok = true; // a no-op for every file
    else if (c.file === 'vcpu0/regs') ok = grammarRegs(text) !== undefined;
    else if (c.file === 'vcpu0/sregs') ok = grammarSregs(text) !== undefined;
    else if (c.file === 'vcpu0/interrupt') ok = grammarInterrupt(text) !== undefined;
    else if (c.file === 'vcpu1/run') ok = grammarAnswer(text, 8) !== undefined;
    else ok = false;
    c.expect = ok ? (c.file === 'vcpu0/interrupt' ? ['ok', 'EEXIST', 'ENXIO'] : c.file === 'vcpu0/sregs' ? ['ok', 'EINVAL'] : ['ok']) : ['EINVAL'];
  }
  checkOutcome(c, allowed);
  const daemonRejected = c.outcome !== 'ok' && c.data.length > 0;
  if (daemonRejected) {
    const kvm = c.file === 'vcpu0/sregs' && c.outcome === 'EINVAL' && (c.expect.includes('ok'));
    checkLastError(c, c.file, kvm ? /KVM_SET_SREGS/ : undefined);
  }
  if (c.outcome !== 'ok' || isBlank(c.data)) {
    noChange(c);
    return;
  }
  switch (c.file) {
    case 'vcpu0/regs': {
      const patch = grammarRegs(text);
      if (!patch) { fail('wrongOutcomes', 'accepted a regs write the grammar rejects', [c]); resync(); return; }
      checkRegsWrite(c, patch);
      return;
    }
    case 'vcpu0/sregs': {
      const patch = grammarSregs(text);
      if (!patch) { fail('wrongOutcomes', 'accepted an sregs write the grammar rejects', [c]); resync(); return; }
      checkSregsWrite(c, patch);
      return;
    }
    case 'vcpu0/interrupt':
      // KVM_INTERRUPT queues the vector; KVM shows it in interrupt_bitmap. Nothing else may change.
      checkSregsWrite(c, new Map(), { freeLines: ['interrupt_bitmap'] });
      return;
    case 'vcpu1/run': {
      answer = grammarAnswer(text, 8);
      answersSinceRun++;
      noChange(c);
      return;
    }
    default:
      noChange(c);
  }
}

/** Runs vcpu1 twice: its `out` must show the last accepted answer (or 0), then it waits on `in` again. */
export function checkRunAnswer(c) {
  const want = `io out port=0x00e9 size=1 count=1 data=${hex(answer ?? 0n, 2)}\n`;
  let first;
  let second;
  const outcome = attempt(() => {
    first = runOnce();
    second = runOnce();
  });
  summary.runs += 2;
  if (outcome !== 'ok') fail('runAnswerProblems', `running vcpu1 failed with ${outcome}`, [c]);
  else if (first !== want || second !== 'io in port=0x0060 size=1 count=1\n') {
    fail('runAnswerProblems', `after ${answersSinceRun} accepted answers (the last: ${answer === undefined ? 'none' : hex(answer, 2)}) vcpu1 ran to ${JSON.stringify(first)} then ${JSON.stringify(second)}; expected ${JSON.stringify(want)}`, answerCasesSinceRun);
  }
  answer = undefined;
  answersSinceRun = 0;
  answerCasesSinceRun = [];
}
