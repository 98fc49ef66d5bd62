// The fuzz client's summary (its last line on stdout) and the failures in it.
import { CLIENT, flags, GROUP, SEED, VM } from './fuzz-args.mjs';

export const summary = {
  client: CLIENT, vm: VM, seed: SEED, group: GROUP,
  cases: 0, writes: 0, accepted: 0, rejected: 0, runs: 0,
  byFile: {}, errnos: {},
  partialApplications: 0, collateralChanges: 0, wrongValues: 0, kvmAdjusted: 0,
  unexpectedErrnos: 0, wrongOutcomes: 0, lastErrorProblems: 0, runAnswerProblems: 0, memoryProblems: 0, treeProblems: 0,
  nameMismatches: 0, crashes: 0,
  maxLatencyMs: 0, elapsedMs: 0, msByKind: {},
  adjustedExamples: [], nameMismatchExamples: [], failures: [],
};

export function describe(c) {
  const data = c.data ?? Buffer.alloc(0);
  const preview = data.length > 300 ? data.subarray(0, 300) : data;
  return {
    seed: SEED, client: CLIENT, vm: VM, case: c.index, gen: c.gen, file: c.file, op: c.op ?? 'write',
    ...(c.offset ? { offset: c.offset } : {}), ...(c.size !== undefined ? { size: c.size } : {}),
    ...(c.target ? { path: JSON.stringify(c.target.toString('latin1')) } : {}),
    length: data.length, input: preview.toString('latin1'), inputBase64: data.length <= 4096 ? data.toString('base64') : undefined,
    outcome: c.outcome, expected: c.expect,
  };
}

export function fail(counter, message, cases, extra = {}) {
  summary[counter]++;
  if (summary.failures.length < 10) {
    summary.failures.push({ kind: counter, message, seed: SEED, client: CLIENT, inputs: cases.map(describe), ...extra });
  }
  if (flags.verbose) process.stderr.write(`FAIL ${counter}: ${message} ${JSON.stringify(cases.map(describe))}\n`);
}

export function countWrite(c, n = 1) {
  summary.writes += n;
  summary.byFile[c.file] = (summary.byFile[c.file] ?? 0) + n;
  if (c.outcome === 'ok') summary.accepted++;
  else summary.rejected++;
}

/** Classifies the outcome against the contract (allowed) and the case (expected). */
export function checkOutcome(c, allowed) {
  summary.errnos[c.outcome] = (summary.errnos[c.outcome] ?? 0) + 1;
  if (c.outcome !== 'ok' && !allowed.has(c.outcome)) {
    fail('unexpectedErrnos', `${c.outcome} is not an errno the contract allows here`, [c]);
    return false;
  }
  if (c.expect && !c.expect.includes(c.outcome)) {
    fail('wrongOutcomes', `expected ${c.expect.join(' or ')}, got ${c.outcome}`, [c]);
    return false;
  }
  return true;
}
