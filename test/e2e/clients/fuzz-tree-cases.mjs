// Cases for memory (pwrite, truncate, ftruncate) and for mkdir/rmdir, with
// the odd names they use.
import { CLIENT, MOUNT, V, VM } from './fuzz-args.mjs';
import { chance, int, pick, weighted } from './fuzz-random.mjs';
import { HUGE_SIZE, INITIAL_MEMORY, MEMORY_CAP, MEMORY_FUZZ_BASE, PAGE } from './fuzz-contract.mjs';
import { INVALID_UTF8, junk } from './fuzz-lines.mjs';

/** 1..40 odd bytes: spaces, controls, newlines, UTF-8, invalid UTF-8; never '/' or NUL. */
function oddName() {
  const parts = [];
  const n = 1 + int(12);
  for (let i = 0; i < n; i++) {
    parts.push(weighted([
      [4, () => Buffer.from(String.fromCharCode(0x21 + int(0x5e)).replace('/', '_'))],
      [2, () => Buffer.from(pick([' ', '  ', '\t', '\n', '\r', '\x1b[2J', '\x7f', '\x01', '.', '..', '-', '*', '?', '\\', '"', "'", '$(x)', '%s', '~']))],
      [2, () => Buffer.from(pick(['é', 'ü', '☃', '😀', '\u200b', '\u00a0', 'Ω', '中', '\ufeff', '\u202e']))],
      [1, () => Buffer.from(pick(INVALID_UTF8))],
    ])());
  }
  return Buffer.concat(parts);
}

export const path = (...parts) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));

export function memoryCase() {
  const op = weighted([[4, 'truncate'], [3, 'ftruncate'], [5, 'pwrite']]);
  if (op !== 'pwrite') {
    const size = weighted([
      [3, () => int(MEMORY_CAP + 1)], // often smaller than now: changes nothing
      [4, () => Math.min(MEMORY_CAP, memoryModel + 1 + int(16 * PAGE))], // grows a little (rounded up to a page)
      [1, () => memoryModel], // the same size
      [2, () => HUGE_SIZE + int(2 ** 20) * PAGE + int(PAGE)], // over --max-memory: ENOSPC
      [1, () => pick([2 ** 40, 2 ** 52, Number.MAX_SAFE_INTEGER])],
    ])();
    if (size <= MEMORY_CAP) memoryModel = Math.max(memoryModel, Math.ceil(size / PAGE) * PAGE);
    return { gen: `memory:${op}`, file: 'memory', op, size };
  }
  const length = weighted([[6, () => 1 + int(64)], [3, () => 1 + int(PAGE)], [1, () => PAGE * (1 + int(4))]])();
  const offset = weighted([
    [6, () => MEMORY_FUZZ_BASE + int(Math.max(1, memoryModel - MEMORY_FUZZ_BASE))], // mostly in range
    [2, () => memoryModel - int(length)], // straddles the end
    [1, () => memoryModel + int(PAGE * 4)], // past the end
    [1, () => pick([2 ** 32, 2 ** 40, 2 ** 52])],
  ])();
  return { gen: 'memory:pwrite', file: 'memory', op: 'pwrite', offset: Math.max(MEMORY_FUZZ_BASE, offset), data: junk(length) };
}
/** The memory size as the generator sees it (the same sequence whatever the daemon answers). */
let memoryModel = INITIAL_MEMORY;

// mkdir / rmdir: at the top (throwaway VMs with odd names) and in this client's VM.
export function dirCase() {
  const kind = weighted([
    [3, 'top-odd'], [2, 'top-existing'], [1, 'top-too-long'], [1, 'top-long-ok'],
    [4, 'vm-bad-name'], [2, 'vm-existing'], [1, 'in-vcpu'], [1, 'under-file'],
    [3, 'rmdir-bad'], [0.25, 'throwaway-vcpu'],
  ]);
  const prefix = Buffer.from(`fz${CLIENT}-`);
  switch (kind) {
    case 'top-odd': return { gen: 'dir:top-odd', file: 'mkdir', kind, name: path(prefix, oddName()) };
    case 'top-long-ok': {
      // FUSE takes names up to 1024 bytes (longer ones are ENAMETOOLONG)
      const length = pick([250, 255, 256, 300 + int(700), 1000 + int(24), 1024]) - prefix.length;
      return { gen: 'dir:top-long-ok', file: 'mkdir', kind, name: path(prefix, 'L'.repeat(length)) };
    }
    case 'top-existing': return { gen: 'dir:top-existing', file: 'mkdir', kind, target: path(MOUNT, '/', pick(['.', '..', 'api_version', 'capabilities', 'last_error', VM])), expect: ['EEXIST'] };
    case 'top-too-long': return { gen: 'dir:top-too-long', file: 'mkdir', kind, target: path(MOUNT, '/', prefix, 'x'.repeat(1025 + int(3000))), expect: ['ENAMETOOLONG'] };
    case 'vm-bad-name': {
      const name = chance(0.6)
        ? pick(['vcpu01', 'vcpu00', 'vcpu-1', 'vcpu', 'VCPU1', 'vcpu1 ', 'vcpu 1', ' vcpu2', 'vcpu0x1', 'vcpu1.0', 'vcpu10000', 'vcpu99999', 'vcpu+1', 'vcpu１', 'vcpu\n1', 'cpu1', 'x'])
        : path('x', oddName());
      return { gen: 'dir:vm-bad-name', file: 'mkdir', kind, target: path(V, '/', name), expect: ['EINVAL'], lastError: true };
    }
    case 'vm-existing': return { gen: 'dir:vm-existing', file: 'mkdir', kind, target: path(V, '/', pick(['vcpu0', 'vcpu1', 'memory', 'dirty_log', 'last_error', '.', '..'])), expect: ['EEXIST'] };
    case 'in-vcpu': return { gen: 'dir:in-vcpu', file: 'mkdir', kind, target: path(V, '/vcpu0/', chance(0.5) ? 'vcpu2' : path('x', oddName())), expect: ['EPERM'], lastError: true };
    case 'under-file': return { gen: 'dir:under-file', file: 'mkdir', kind, target: path(V, '/', pick(['memory', 'dirty_log', 'vcpu0/regs']), '/x'), expect: ['ENOTDIR'] };
    case 'rmdir-bad': {
      const [target, expect, lastError] = pick([
        [path(V, '/vcpu0'), ['EPERM'], true],
        [path(V, '/vcpu1'), ['EPERM'], true],
        [path(V, '/memory'), ['ENOTDIR'], false],
        [path(V, '/vcpu0/regs'), ['ENOTDIR'], false],
        [path(MOUNT, '/api_version'), ['ENOTDIR'], false],
        [path(V, '/vcpu7'), ['ENOENT'], false],
        [path(MOUNT, '/', prefix, oddName()), ['ENOENT'], false],
        [path(V, '/x', oddName()), ['ENOENT'], false],
        [path(V, '/.'), ['EINVAL'], false],
        [path(MOUNT, '/', 'y'.repeat(1025 + int(100))), ['ENAMETOOLONG'], false],
      ]);
      return { gen: 'dir:rmdir-bad', file: 'rmdir', kind, target, expect, lastError };
    }
    case 'throwaway-vcpu': {
      const id = weighted([[6, () => int(1024)], [2, () => 1024 + int(3072)], [1, () => pick([4096, 5000, 9999])]])();
      return { gen: 'dir:throwaway-vcpu', file: 'mkdir', kind, id };
    }
  }
  throw new Error(kind);
}
