// The fuzz client's operations on the mount: the open files, snapshots of
// them, and one write with its outcome as an errno.
import fs from 'node:fs';
import { V } from './fuzz-args.mjs';
import { DEAD } from './fuzz-contract.mjs';
import { fail, summary } from './fuzz-results.mjs';

export const fds = {};
const readBuffer = Buffer.alloc(16 * 1024); // every state file's text fits: one FUSE read per snapshot

/** A fresh snapshot: one read at offset 0 of an open file. */
export function snapshot(fd) {
  const n = fs.readSync(fd, readBuffer, 0, readBuffer.length, 0);
  return readBuffer.toString('utf8', 0, n);
}
export const readState = () => ({ regs: snapshot(fds.regs), sregs: snapshot(fds.sregs) });

function errnoOf(error) {
  if (error && typeof error.code === 'string') return error.code;
  throw error;
}

/** Runs `operation`, returns 'ok' or the errno code; records latency and crashes. */
export function attempt(operation) {
  const start = performance.now();
  let outcome;
  try {
    operation();
    outcome = 'ok';
  } catch (error) {
    outcome = errnoOf(error);
  }
  const took = performance.now() - start;
  if (took > summary.maxLatencyMs) summary.maxLatencyMs = took;
  if (DEAD.has(outcome)) {
    summary.crashes++;
    throw Object.assign(new Error(`daemon gone: ${outcome}`), { dead: true });
  }
  return outcome;
}

/** One write to `file` (a vcpu file name, or 'vcpu1/run'), on the shared fd at offset 0 or a fresh open. */
export function writeText(c) {
  const full = `${V}/${c.file}`;
  return attempt(() => {
    if (c.fresh) {
      const fd = fs.openSync(full, fs.constants.O_WRONLY);
      try {
        fs.writeSync(fd, c.data, 0, c.data.length, c.offset ?? 0);
      } finally {
        fs.closeSync(fd);
      }
    } else {
      const written = fs.writeSync(fds[c.file], c.data, 0, c.data.length, 0);
      if (written !== c.data.length) throw Object.assign(new Error('short write'), { code: `SHORT_WRITE_${written}` });
    }
  });
}

// ---------------------------------------------------------------- checks

/** A daemon-side rejection must leave one line in last_error naming the file. */
export function checkLastError(c, prefix, pattern) {
  const text = snapshot(fds.lastError);
  const lines = text.split('\n');
  const okShape = lines.length === 2 && lines[1] === '' && text.startsWith(`${prefix}: `) && (!pattern || pattern.test(text));
  if (!okShape) fail('lastErrorProblems', `last_error after a rejected write to ${prefix} is ${JSON.stringify(text)}`, [c]);
}

/** Runs vcpu1 to its next exit; a run cut short by the mount's run time limit (a very busy host) says `intr` and resumes on the next read. */
export function runOnce() {
  let line = snapshot(fds.run1);
  for (let i = 0; i < 5 && line === 'intr\n'; i++) line = snapshot(fds.run1);
  return line;
}

export function memorySizeNow() {
  return fs.fstatSync(fds.memory).size;
}
