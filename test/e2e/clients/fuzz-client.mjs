#!/usr/bin/env node
// kvmfs fuzz client: one VM, driven through a real mount with node:fs, one
// write(2) per case. Run by test/e2e/fuzz.test.ts as a child process (the
// test process itself never touches the mount), or by hand to replay a seed:
//
//   node test/e2e/clients/fuzz-client.mjs <mount> <vm> <seed> <count> [--client N] [--group G] [--verbose]
//
// It creates <vm> with vcpu0 (fuzzed, never run) and vcpu1 (stopped on an
// `io in`, so that answers written to its run file can be checked by running
// it), then for each case writes one generated input to one file (regs,
// sregs, run, interrupt, stop, memory by pwrite/truncate/ftruncate, or a
// mkdir/rmdir) and checks it against the contract:
//   - the outcome is an errno the contract allows for that file, and the one
//     the generator calls for (for random junk: what the grammar says);
//   - a rejected write changed nothing (regs and sregs byte-identical, memory
//     size and bytes unchanged, vcpu1's pending answer unchanged) and, when
//     the daemon refused it, last_error is one line naming the file;
//   - an accepted write changed only what it named: the new regs/sregs text
//     is the old with the written registers/fields replaced (allowing only
//     KVM's own documented adjustments, counted as kvmAdjusted);
//   - an empty or whitespace-only write (bash's lone "\n") succeeds and
//     changes nothing, vcpu1's pending answer included (docs/interface.md).
//
// State is compared, not assumed: after every accepted regs/sregs/interrupt
// write the file it targets is re-read and compared with the previous
// snapshot; the whole state (regs + sregs) is re-read and compared at least
// every --group cases (default 32), which covers every rejected write in
// between. A change found there is reported with every input since the
// previous comparison; replay the same seed with --group 1 to compare after
// every single write and name the culprit.
//
// The inputs depend only on the seed and the client number, never on what
// the daemon answered, so a seed replays exactly. The last line on stdout is
// a JSON summary (ASCII only); every failure in it carries the seed and the
// inputs as JSON (latin1 text and base64 bytes).
//
// The modules: fuzz-args (the command line), fuzz-random (the seeded draws),
// fuzz-contract (names, limits, errnos, grammar), fuzz-lines and fuzz-cases,
// fuzz-tree-cases (the generators), fuzz-io (the mount), fuzz-results (the
// summary), fuzz-verify (state comparison), fuzz-run-text and fuzz-run-tree
// (running and checking each case).
import fs from 'node:fs';
import { COUNT, flags, V, CLIENT, SEED } from './fuzz-args.mjs';
import { INITIAL_MEMORY, IO_GUEST } from './fuzz-contract.mjs';
import { nextCase } from './fuzz-cases.mjs';
import { fds, runOnce } from './fuzz-io.mjs';
import { describe, summary } from './fuzz-results.mjs';
import { checkRunAnswer, runTextCase } from './fuzz-run-text.mjs';
import { checkFinalMemorySize, initMemorySize, runDirCase, runMemoryCase } from './fuzz-run-tree.mjs';
import { resync, verifyUnchanged } from './fuzz-verify.mjs';

// ---------------------------------------------------------------- setup and the main loop

function setup() {
  fs.mkdirSync(V);
  fs.mkdirSync(`${V}/vcpu0`);
  fs.mkdirSync(`${V}/vcpu1`);
  fs.truncateSync(`${V}/memory`, INITIAL_MEMORY);
  const mem = fs.openSync(`${V}/memory`, 'r+');
  fs.writeSync(mem, IO_GUEST, 0, IO_GUEST.length, 0x1000);
  fs.closeSync(mem);
  fs.writeFileSync(`${V}/vcpu1/sregs`, 'cs base=0 selector=0\n');
  fs.writeFileSync(`${V}/vcpu1/regs`, 'rip 0x1000\n');
  fds.regs = fs.openSync(`${V}/vcpu0/regs`, 'r+');
  fds.sregs = fs.openSync(`${V}/vcpu0/sregs`, 'r+');
  fds['vcpu0/regs'] = fds.regs;
  fds['vcpu0/sregs'] = fds.sregs;
  fds['vcpu0/run'] = fs.openSync(`${V}/vcpu0/run`, 'r+');
  fds['vcpu0/interrupt'] = fs.openSync(`${V}/vcpu0/interrupt`, 'w');
  fds['vcpu0/stop'] = fs.openSync(`${V}/vcpu0/stop`, 'w');
  fds['vcpu1/stop'] = fs.openSync(`${V}/vcpu1/stop`, 'w');
  fds.run1 = fs.openSync(`${V}/vcpu1/run`, 'r+');
  fds['vcpu1/run'] = fds.run1;
  fds.memory = fs.openSync(`${V}/memory`, 'r+');
  fds.lastError = fs.openSync(`${V}/last_error`, 'r');
  const first = runOnce();
  if (first !== 'io in port=0x0060 size=1 count=1\n') throw new Error(`vcpu1 did not stop at its io in: ${JSON.stringify(first)}`);
  initMemorySize();
  resync();
}

function teardown() {
  for (const fd of new Set(Object.values(fds))) fs.closeSync(fd);
  fs.rmdirSync(V);
}

let answerCases = 0;
const started = performance.now();
let exitCode = 0;
try {
  setup();
  for (let index = 0; index < COUNT; index++) {
    const c = nextCase(index);
    if (flags.verbose) process.stderr.write(`${JSON.stringify(describe(c))}\n`);
    const caseStart = performance.now();
    if (c.file === 'memory') runMemoryCase(c);
    else if (c.file === 'mkdir' || c.file === 'rmdir') runDirCase(c);
    else runTextCase(c);
    const key = `${c.gen.split(':').slice(0, 2).join(':')}:${c.outcome === 'ok' ? 'ok' : 'err'}`;
    summary.msByKind[key] = (summary.msByKind[key] ?? 0) + performance.now() - caseStart;
    summary.cases++;
    // vcpu1 runs after every few answers (and at the end), so every accepted answer is checked
    if (c.file === 'vcpu1/run' && ++answerCases % 4 === 0) checkRunAnswer(c);
  }
  verifyUnchanged();
  checkFinalMemorySize();
  checkRunAnswer({ index: COUNT, gen: 'final run', file: 'vcpu1/run' });
  teardown();
} catch (error) {
  if (!error.dead) {
    summary.failures.push({ kind: 'clientError', message: String(error.stack ?? error), seed: SEED, client: CLIENT });
    exitCode = 1;
  }
}
summary.elapsedMs = Math.round(performance.now() - started);
summary.maxLatencyMs = Math.round(summary.maxLatencyMs * 10) / 10;
// ASCII only: every consumer splits the output into lines the same way
const ascii = JSON.stringify(summary).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
process.stdout.write(`${ascii}\n`);
process.exitCode = exitCode;
