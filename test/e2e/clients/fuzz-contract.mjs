// What the fuzz client knows of the contract: the files' names and limits,
// the errnos each may give, and the grammar of what each file takes.

export const REGS = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags'];
export const SEGMENTS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'];
export const DATA_SEGMENTS = ['ds', 'es', 'fs', 'gs'];
export const SEGMENT_FIELDS = { base: 64, limit: 32, selector: 16, type: 4, present: 1, dpl: 2, db: 1, s: 1, l: 1, g: 1, avl: 1, unusable: 1 };
export const SEGMENT_FIELD_NAMES = Object.keys(SEGMENT_FIELDS);
export const DTABLES = ['gdt', 'idt'];
export const DTABLE_FIELDS = { base: 64, limit: 16 };
export const CONTROL = ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'apic_base'];
export const MAX_TEXT_WRITE = 64 * 1024;
export const PAGE = 4096;
/** Memory the fuzzer grows a VM to at most (4 clients stay far below --max-memory). */
export const MEMORY_CAP = 4 * 1024 * 1024;
/** The memory a client's VM starts with (vcpu1's code at 0x1000). */
export const INITIAL_MEMORY = 64 * 1024;
export const HUGE_SIZE = 1024 ** 3; // over any --max-memory the test uses
/** Guest code for vcpu1 at 0x1000: `1: in $0x60,%al; out %al,$0xe9; jmp 1b`. */
export const IO_GUEST = Buffer.from([0xe4, 0x60, 0xe6, 0xe9, 0xeb, 0xfa]);
/** Fuzzed memory writes stay above the guest code. */
export const MEMORY_FUZZ_BASE = 0x10000;

/** Errnos the contract allows, per kind of operation. */
export const ALLOWED = {
  text: new Set(['EINVAL', 'EBUSY']),
  sregs: new Set(['EINVAL', 'EBUSY']), // KVM_SET_SREGS's own errno is EINVAL
  interrupt: new Set(['EINVAL', 'EBUSY', 'EEXIST', 'ENXIO']), // KVM_INTERRUPT's own errnos pass through
  memory: new Set(['ENOSPC', 'EINVAL', 'EFBIG']), // EINVAL/EFBIG: the kernel's checks of offsets and sizes
  mkdir: new Set(['EEXIST', 'ENOENT', 'EPERM', 'EINVAL', 'ENOSPC', 'ENAMETOOLONG', 'ENOTDIR']),
  rmdir: new Set(['EPERM', 'ENOENT', 'ENOTDIR', 'EBUSY', 'EINVAL', 'ENAMETOOLONG']),
};
/** The daemon is gone (or its mount is broken): every later operation fails. */
export const DEAD = new Set(['ENOTCONN', 'ECONNABORTED', 'ECONNREFUSED']);

// ---------------------------------------------------------------- the grammar (an independent reading of the contract)

const CONTROL_CHAR = /[\x00-\x08\x0b-\x1f\x7f]/;

/** Lines of tokens, or undefined if the text breaks the line rules. */
function tokenLines(text) {
  const lines = [];
  for (const raw of text.split('\n')) {
    const content = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (CONTROL_CHAR.test(content)) return undefined;
    const tokens = content.split(/[ \t]+/).filter((t) => t !== '');
    if (tokens.length > 0) lines.push(tokens);
  }
  return lines;
}

/** 0x hex or decimal, unsigned, at most `bits` bits; undefined if not. */
function parseNumber(text, bits) {
  const m = /^0[xX]([0-9a-fA-F]+)$/.exec(text) ?? /^([0-9]+)$/.exec(text);
  if (!m) return undefined;
  const digits = m[1].replace(/^0+/, '') || '0';
  if (digits.length > 40) return undefined;
  const value = BigInt(m[0].length === m[1].length ? digits : `0x${digits}`);
  return value >> BigInt(bits) === 0n ? value : undefined;
}

/** The registers a regs write names, or undefined if the write must be rejected. */
export function grammarRegs(text) {
  const lines = tokenLines(text);
  if (!lines || lines.length === 0) return undefined;
  const patch = new Map();
  for (const [name, ...values] of lines) {
    if (!REGS.includes(name) || patch.has(name) || values.length !== 1) return undefined;
    const value = parseNumber(values[0], 64);
    if (value === undefined) return undefined;
    patch.set(name, value);
  }
  return patch;
}

/** What an sregs write names: Map line -> bigint | bigint[] | Map field -> bigint; or undefined. */
export function grammarSregs(text) {
  const lines = tokenLines(text);
  if (!lines || lines.length === 0) return undefined;
  const patch = new Map();
  for (const [name, ...rest] of lines) {
    if (patch.has(name)) return undefined;
    const widths = SEGMENTS.includes(name) ? SEGMENT_FIELDS : DTABLES.includes(name) ? DTABLE_FIELDS : undefined;
    if (widths) {
      if (rest.length === 0) return undefined;
      const fields = new Map();
      for (const token of rest) {
        const eq = token.indexOf('=');
        if (eq <= 0) return undefined;
        const key = token.slice(0, eq);
        if (!Object.hasOwn(widths, key) || fields.has(key)) return undefined;
        const value = parseNumber(token.slice(eq + 1), widths[key]);
        if (value === undefined) return undefined;
        fields.set(key, value);
      }
      patch.set(name, fields);
    } else if (CONTROL.includes(name)) {
      if (rest.length !== 1) return undefined;
      const value = parseNumber(rest[0], 64);
      if (value === undefined) return undefined;
      patch.set(name, value);
    } else if (name === 'interrupt_bitmap') {
      if (rest.length !== 4) return undefined;
      const words = rest.map((t) => parseNumber(t, 64));
      if (words.includes(undefined)) return undefined;
      patch.set(name, words);
    } else {
      return undefined;
    }
  }
  return patch;
}

/** A vector 0..255 (whitespace around it allowed), or undefined. */
export function grammarInterrupt(text) {
  const value = parseNumber(text.trim(), 64);
  return value !== undefined && value <= 255n ? value : undefined;
}

/** One value of `bits` bits for an `io in` of count 1, with an optional data= prefix; or undefined. */
export function grammarAnswer(text, bits) {
  const list = text.trim().replace(/^data=/, '').trim();
  const tokens = list === '' ? [] : list.split(/\s*,\s*|\s+/);
  if (tokens.length !== 1) return undefined;
  return parseNumber(tokens[0], bits);
}

export const hex = (v, digits) => `0x${v.toString(16).padStart(digits, '0')}`;
/** Empty or whitespace only, as kvmfs decides it (its text as UTF-8, trimmed): such a write succeeds and changes nothing. */
export const isBlank = (data) => data.toString('utf8').trim() === '';
