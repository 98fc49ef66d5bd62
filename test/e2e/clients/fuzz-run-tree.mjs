// Running the memory and mkdir/rmdir cases.
import fs from 'node:fs';
import { CLIENT, MOUNT, V } from './fuzz-args.mjs';
import { ALLOWED, hex, HUGE_SIZE, PAGE } from './fuzz-contract.mjs';
import { attempt, checkLastError, fds, memorySizeNow, snapshot } from './fuzz-io.mjs';
import { checkOutcome, countWrite, fail, summary } from './fuzz-results.mjs';
import { path } from './fuzz-tree-cases.mjs';
import { noChange } from './fuzz-verify.mjs';

/** The memory size last seen: only truncate may change it. */
let memorySize = 0;
let tmpCounter = 0;

export function initMemorySize() {
  memorySize = memorySizeNow();
}

export function checkFinalMemorySize() {
  const finalSize = memorySizeNow();
  if (finalSize !== memorySize) fail('memoryProblems', `memory size ${finalSize} at the end; ${memorySize} after the last truncate (only truncate may change it)`, []);
}

export function runMemoryCase(c) {
  const before = memorySize;
  if (c.op === 'truncate' || c.op === 'ftruncate') {
    c.outcome = attempt(() => (c.op === 'truncate' ? fs.truncateSync(`${V}/memory`, c.size) : fs.ftruncateSync(fds.memory, c.size)));
    countWrite(c);
    const grown = Math.max(before, Math.ceil(c.size / PAGE) * PAGE);
    c.expect = c.size >= HUGE_SIZE ? ['ENOSPC'] : ['ok'];
    checkOutcome(c, ALLOWED.memory);
    if (c.outcome !== 'ok') checkLastError(c, 'memory', /cannot grow/);
    memorySize = memorySizeNow();
    const want = c.outcome === 'ok' ? grown : before;
    if (memorySize !== want) fail('memoryProblems', `memory size ${memorySize} after ${c.op} to ${c.size} from ${before} (${c.outcome}); expected ${want}`, [c]);
  } else {
    // pwrite at a guest physical address: in range it lands, past the end ENOSPC and nothing changes
    const end = c.offset + c.data.length;
    const inRange = Math.max(0, Math.min(end, before) - c.offset);
    const fits = end <= before;
    // what the bytes a refused write overlaps held before it (a write that fits is compared with itself)
    const old = Buffer.alloc(fits ? 0 : inRange);
    if (old.length > 0) fs.readSync(fds.memory, old, 0, old.length, c.offset);
    c.outcome = attempt(() => {
      const n = fs.writeSync(fds.memory, c.data, 0, c.data.length, c.offset);
      if (n !== c.data.length) throw Object.assign(new Error('short write'), { code: `SHORT_WRITE_${n}` });
    });
    countWrite(c);
    c.expect = c.data.length === 0 || fits ? ['ok'] : ['ENOSPC'];
    checkOutcome(c, ALLOWED.memory);
    if (c.outcome !== 'ok') checkLastError(c, 'memory', /past the end/);
    const now = Buffer.alloc(inRange);
    if (inRange > 0) fs.readSync(fds.memory, now, 0, inRange, c.offset);
    const want = fits ? c.data.subarray(0, inRange) : old;
    if (!now.equals(want)) fail('memoryProblems', `memory at ${hex(c.offset, 0)} after a ${c.data.length}-byte write (${c.outcome}) does not hold ${fits ? 'what was written' : 'what it held before'}`, [c]);
    // the size is checked after the next truncate and at the end
  }
  noChange(c);
}

/**
 * kvmfs takes VM names of UTF-8 text (fuse-native would turn other bytes
 * into U+FFFD, so that character is refused too) up to NAME_MAX bytes.
 */
function expectedMkdir(name) {
  if (name.length > 255) return 'ENAMETOOLONG';
  const utf8 = Buffer.from(name.toString('utf8')).equals(name) && !name.includes(Buffer.from('\ufffd'));
  return utf8 ? 'ok' : 'EINVAL';
}

/** Does the listing of `dir` hold exactly the bytes `name`? */
function listed(dir, name) {
  return fs.readdirSync(dir, { encoding: 'buffer' }).some((entry) => entry.equals(name));
}

function dirOp(op, target) {
  return attempt(() => (op === 'mkdir' ? fs.mkdirSync(target) : fs.rmdirSync(target)));
}

export function runDirCase(c) {
  const prefix = Buffer.from(`fz${CLIENT}-`);
  if (c.kind === 'top-odd' || c.kind === 'top-long-ok' || c.kind === 'throwaway-vcpu') {
    // a throwaway VM: create it, see it listed under the same name, remove it
    const name = c.name ?? Buffer.from(`fz${CLIENT}-tmp${tmpCounter++}`);
    const target = path(MOUNT, '/', name);
    c.target = target;
    c.expect = [expectedMkdir(name)];
    c.outcome = dirOp('mkdir', target);
    countWrite(c);
    if (!checkOutcome(c, ALLOWED.mkdir) || c.outcome !== 'ok') return noChange(c);
    if (!listed(MOUNT, name)) {
      summary.nameMismatches++;
      if (summary.nameMismatchExamples.length < 5) {
        const similar = fs.readdirSync(MOUNT, { encoding: 'buffer' }).filter((e) => e.subarray(0, prefix.length).equals(prefix));
        summary.nameMismatchExamples.push({
          created: name.length > 80 ? `${name.length} bytes` : name.toString('base64'),
          listed: similar.map((e) => (e.length > 80 ? `${e.length} bytes` : e.toString('base64'))),
        });
      }
    }
    if (c.kind === 'throwaway-vcpu') {
      const vcpu = path(target, `/vcpu${c.id}`);
      const m = { ...c, gen: 'dir:throwaway-vcpu:mkdir', target: vcpu, expect: c.id < 1024 ? ['ok'] : ['ok', 'EINVAL'], outcome: dirOp('mkdir', vcpu) };
      countWrite(m);
      checkOutcome(m, ALLOWED.mkdir);
      if (m.outcome === 'ok') {
        const r = { ...c, file: 'rmdir', gen: 'dir:throwaway-vcpu:rmdir', target: vcpu, expect: ['EPERM'], outcome: dirOp('rmdir', vcpu) };
        countWrite(r);
        checkOutcome(r, ALLOWED.rmdir);
      }
    }
    const r = { ...c, file: 'rmdir', gen: `${c.gen}:rmdir`, expect: ['ok'], outcome: dirOp('rmdir', target) };
    countWrite(r);
    checkOutcome(r, ALLOWED.rmdir);
    if (fs.existsSync(target)) fail('treeProblems', 'a removed VM is still there', [r]);
    return noChange(c);
  }
  c.outcome = dirOp(c.file, c.target);
  countWrite(c);
  checkOutcome(c, c.file === 'mkdir' ? ALLOWED.mkdir : ALLOWED.rmdir);
  if (c.lastError && c.outcome !== 'ok') {
    const text = snapshot(fds.lastError);
    if (text.split('\n').length !== 2 || !text.endsWith('\n')) fail('lastErrorProblems', `last_error after ${c.gen} is ${JSON.stringify(text)}`, [c]);
  }
  if (c.kind === 'rmdir-bad' && c.outcome !== 'ok' && !fs.existsSync(path(V, '/vcpu0/regs'))) fail('treeProblems', 'vcpu0 vanished', [c]);
  noChange(c);
}
