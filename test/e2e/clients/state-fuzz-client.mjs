#!/usr/bin/env node
// kvmfs state fuzz client: finds every writable file of a VM and its vcpu
// by listing the tree and checking mode bits, so files added later are
// fuzzed without changes here, and writes seeded junk and mutated
// read-backs to each, one write(2) per case. Run by
// test/e2e/state-fuzz.test.ts as a child process, or by hand:
//
//   node test/e2e/clients/state-fuzz-client.mjs <mount> <vm> <seed> <count> [--verbose]
//
// Skipped: the files fuzz-client.mjs covers (regs, sregs, run, interrupt,
// stop, memory). Files whose writes are actions (stop, nmi) only get junk,
// and only the daemon's survival is checked. A write-only file gets junk,
// and its content is not compared. For every other file:
//   - a rejected write gives an errno of ALLOWED (EINVAL, or KVM's own errno
//     passed through: ENXIO without an irqchip, EEXIST for a second create,
//     ENOENT for a pit create without an irqchip, E2BIG, EOPNOTSUPP);
//   - it leaves the file's content as it was. Fields KVM changes by itself
//     (the TSC MSR, the VM clock, a PIT count, the local APIC's current
//     timer count, ...) are not compared: each case reads the file twice
//     before writing, and the tokens (bytes, for a binary file) that differ
//     between those two reads are left out of the comparison. When the two
//     reads differ in shape (lines or tokens) or a read fails (lapic
//     without an irqchip), the case is counted as `unstable` and not compared;
//   - last_error is one line naming the file (`vcpu0/<file>: ...` or `<file>: ...`).
// An accepted write is only checked to leave the file readable.
//
// The junk depends only on the seed; the mutations start from what the file
// read, so a replay is exact while the daemon answers the same. The last
// line on stdout is a JSON summary.
import fs from 'node:fs';
import { seededRandom } from './seeded-random.mjs';

const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const VERBOSE = process.argv.includes('--verbose');
if (positional.length !== 4) {
  process.stderr.write('usage: state-fuzz-client.mjs <mount> <vm> <seed> <count> [--verbose]\n');
  process.exit(2);
}
const [MOUNT, VM, seedText, countText] = positional;
const SEED = Number(seedText) >>> 0;
const COUNT = Number(countText);
const V = `${MOUNT}/${VM}`;

const COVERED_ELSEWHERE = new Set(['regs', 'sregs', 'run', 'interrupt', 'stop', 'memory']);
const ACTIONS = new Set(['stop', 'nmi']);
const ALLOWED = new Set(['EINVAL', 'ENXIO', 'EEXIST', 'ENOENT', 'E2BIG', 'EOPNOTSUPP']);
const PRINTABLE = /^[\t\n\r\x20-\x7e]*$/;

const random = seededRandom(SEED);
const int = (n) => Math.floor(random() * n);
const chance = (p) => random() < p;
const pick = (list) => list[int(list.length)];

const summary = {
  seed: SEED, writes: 0, accepted: 0, rejected: 0, unstable: 0, crashes: 0,
  files: [], byFile: {}, errnos: {}, failures: [],
};

function fail(kind, c, message) {
  if (summary.failures.length < 20) {
    summary.failures.push({ kind, file: c.file, gen: c.gen, message, input: c.data.toString('latin1').slice(0, 300) });
  }
}

// ---------------------------------------------------------------- the tree

/** Writable regular files of `dir` (owner write bit), by name, minus `skip`. */
function writableFiles(dir, prefix) {
  return fs.readdirSync(dir).flatMap((name) => {
    const stat = fs.statSync(`${dir}/${name}`);
    if (!stat.isFile() || (stat.mode & 0o222) === 0 || (COVERED_ELSEWHERE.has(name) && !ACTIONS.has(name))) return [];
    return [{ path: `${dir}/${name}`, file: `${prefix}${name}`, name, readable: (stat.mode & 0o444) !== 0 }];
  });
}

function read(path) {
  return fs.readFileSync(path);
}

/** A target's content: empty for a write-only file, undefined when the read fails (lapic without an irqchip: ENXIO). */
function content(target) {
  if (!target.readable) return Buffer.alloc(0);
  try {
    return read(target.path);
  } catch (error) {
    if (error.code === 'ENOTCONN' || error.code === 'ECONNABORTED') throw Object.assign(new Error('the daemon is gone'), { dead: true });
    return undefined;
  }
}

/** One write(2) of `data` at offset 0, without O_TRUNC; 'ok' or the errno's name. */
function writeOnce(path, data) {
  let fd;
  try {
    fd = fs.openSync(path, fs.constants.O_WRONLY);
    fs.writeSync(fd, data, 0, data.length, 0);
    return 'ok';
  } catch (error) {
    if (error.code === 'ENOTCONN' || error.code === 'ECONNABORTED') throw Object.assign(new Error('the daemon is gone'), { dead: true });
    return error.code ?? String(error);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------- inputs

const JUNK_TOKENS = ['', '=', ':', '0x', '-1', '1e3', '0b1', 'nan', '0x' + 'f'.repeat(40), '99999999999999999999999999',
  'xmm99', 'constructor', '__proto__', 'halted', 'kernel', 'none', 'create', '0x0 0x0:', 'eax=', 'pin99', 'ch9', '\u00e9', '\u00ff\u00fe'];

function randomBytes(length) {
  return Buffer.from(Array.from({ length }, () => int(256)));
}

function junkText() {
  return Array.from({ length: 1 + int(4) }, () =>
    Array.from({ length: 1 + int(5) }, () => (chance(0.5) ? pick(JUNK_TOKENS) : String(int(1 << 30)))).join(chance(0.8) ? ' ' : '\t'),
  ).join('\n') + (chance(0.7) ? '\n' : '');
}

/** A token of `text` (read back) replaced, dropped or doubled, or a line doubled or cut. */
function mutateText(text) {
  const lines = text.split('\n').filter((l) => l !== '');
  if (lines.length === 0) return Buffer.from(junkText());
  const at = int(lines.length);
  const tokens = lines[at].split(' ');
  const t = int(tokens.length);
  const token = tokens[t];
  switch (int(8)) {
    case 0: tokens[t] = pick(JUNK_TOKENS); break;
    case 1: tokens.splice(t, 1); break;
    case 2: tokens.splice(t, 0, token); break;
    case 3: tokens[t] = token.replace(/0x[0-9a-f]+/, () => `0x${'f'.repeat(1 + int(40))}`); break;
    case 4: tokens[t] = token.replace(/[0-9a-f]$/, () => pick(['g', 'z', '-', ''])); break;
    case 5: tokens[t] = token.replace(/=.*/, () => `=${int(1 << 20)}`); break;
    case 6: return Buffer.from(`${lines[at]}\n${lines[at]}\n`); // a duplicate line
    default: tokens[t] = `${token}${pick(JUNK_TOKENS)}`; break;
  }
  lines[at] = tokens.join(' ');
  return Buffer.from(chance(0.5) ? `${lines[at]}\n` : `${lines.join('\n')}\n`);
}

/** A binary file's content with some bytes changed, or cut short, or junk of another size. */
function mutateBinary(content) {
  const kind = int(4);
  if (kind === 0) return randomBytes(1 + int(Math.min(content.length * 2, 16384)));
  if (kind === 1) return content.subarray(0, int(content.length));
  const copy = Buffer.from(content);
  for (let i = 0, n = 1 + int(8); i < n; i++) copy[kind === 2 ? int(Math.min(copy.length, 640)) : int(copy.length)] = int(256);
  return copy;
}

function nextCase(target, content) {
  const binary = !PRINTABLE.test(content.toString('latin1'));
  if (ACTIONS.has(target.name)) return { gen: 'action-junk', data: chance(0.5) ? Buffer.from(junkText()) : randomBytes(int(64)) };
  if (binary) return { gen: 'binary', data: mutateBinary(content), binary };
  switch (int(6)) {
    case 0: return { gen: 'random-bytes', data: randomBytes(1 + int(200)) };
    case 1: return { gen: 'junk-text', data: Buffer.from(junkText()) };
    case 2: return { gen: 'long-line', data: Buffer.from(`${pick(content.toString().split(/\s+/)) ?? 'x'} ${'9'.repeat(1 + int(4000))}\n`) };
    default: return { gen: 'mutated', data: mutateText(content.toString()) };
  }
}

// ---------------------------------------------------------------- checks

/** `a` and `b` compared outside what changed between two reads before the write. */
function sameOutside(first, second, after, binary) {
  if (binary) {
    if (first.length !== second.length || second.length !== after.length) return 'shape';
    for (let i = 0; i < after.length; i++) if (first[i] === second[i] && second[i] !== after[i]) return `byte ${i}`;
    return 'same';
  }
  const split = (b) => b.toString('latin1').split(/(\s+)/);
  const [x, y, z] = [split(first), split(second), split(after)];
  if (x.length !== y.length) return 'shape';
  if (y.length !== z.length) return `token count ${y.length} -> ${z.length}`;
  for (let i = 0; i < z.length; i++) if (x[i] === y[i] && y[i] !== z[i]) return `${JSON.stringify(y[i])} -> ${JSON.stringify(z[i])}`;
  return 'same';
}

function checkLastError(c, target) {
  const text = read(`${V}/last_error`).toString();
  const wanted = `${target.file}: `;
  if (!text.endsWith('\n') || text.split('\n').length !== 2 || !text.startsWith(wanted)) {
    fail('lastError', c, `last_error is ${JSON.stringify(text)}; expected one line starting ${JSON.stringify(wanted)}`);
  }
}

function runCase(target) {
  const first = content(target);
  const second = ACTIONS.has(target.name) ? first : content(target);
  const c = { ...nextCase(target, second ?? Buffer.alloc(0)), file: target.file };
  if (VERBOSE) process.stderr.write(`${target.file} ${c.gen} ${JSON.stringify(c.data.toString('latin1').slice(0, 120))}\n`);
  const outcome = writeOnce(target.path, c.data);
  const stats = (summary.byFile[target.file] ??= { writes: 0, accepted: 0, rejected: 0 });
  summary.writes++;
  stats.writes++;
  summary.errnos[outcome] = (summary.errnos[outcome] ?? 0) + 1;
  if (outcome === 'ok') {
    summary.accepted++;
    stats.accepted++;
    content(target);
    return;
  }
  summary.rejected++;
  stats.rejected++;
  if (ACTIONS.has(target.name)) return;
  if (!ALLOWED.has(outcome)) fail('unexpectedErrno', c, `errno ${outcome}`);
  // last_error first: a failing read of the file would record its own error
  checkLastError(c, target);
  const after = content(target);
  const verdict = first && second && after ? sameOutside(first, second, after, c.binary === true) : 'shape';
  if (verdict === 'shape') summary.unstable++;
  else if (verdict !== 'same') fail('changed', c, `a rejected write (${outcome}) changed the file: ${verdict}`);
}

// ---------------------------------------------------------------- main

let exitCode = 0;
const started = performance.now();
try {
  fs.mkdirSync(V);
  fs.truncateSync(`${V}/memory`, 64 * 1024);
  fs.mkdirSync(`${V}/vcpu0`);
  const targets = [...writableFiles(V, ''), ...writableFiles(`${V}/vcpu0`, 'vcpu0/')];
  summary.files = targets.map((t) => t.file);
  for (let i = 0; i < COUNT; i++) {
    runCase(pick(targets));
    if (i % 100 === 99 && read(`${MOUNT}/api_version`).toString() !== '12\n') throw Object.assign(new Error('api_version changed'), { dead: true });
  }
  fs.rmdirSync(V);
} catch (error) {
  if (error.dead) summary.crashes++;
  summary.failures.push({ kind: 'clientError', message: String(error.stack ?? error) });
  exitCode = 1;
}
summary.elapsedMs = Math.round(performance.now() - started);
process.stdout.write(`${JSON.stringify(summary).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`);
process.exitCode = exitCode;
