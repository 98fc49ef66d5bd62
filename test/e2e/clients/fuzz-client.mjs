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
import fs from 'node:fs';
import { seededRandom } from './seeded-random.mjs';

// ---------------------------------------------------------------- arguments

const positional = [];
const flags = { client: 0, group: 32, verbose: false };
for (let i = 2; i < process.argv.length; i++) {
  const arg = process.argv[i];
  if (arg === '--client') flags.client = Number(process.argv[++i]);
  else if (arg === '--group') flags.group = Math.max(1, Number(process.argv[++i]));
  else if (arg === '--verbose') flags.verbose = true;
  else positional.push(arg);
}
if (positional.length !== 4) {
  process.stderr.write('usage: fuzz-client.mjs <mount> <vm> <seed> <count> [--client N] [--group G] [--verbose]\n');
  process.exit(2);
}
const [MOUNT, VM, seedText, countText] = positional;
const SEED = Number(seedText) >>> 0;
const COUNT = Number(countText);
const CLIENT = flags.client;
const GROUP = flags.group;
const V = `${MOUNT}/${VM}`;

// ---------------------------------------------------------------- randomness

const random = seededRandom((SEED ^ Math.imul(CLIENT + 1, 0x9e3779b1)) >>> 0);
const int = (n) => Math.floor(random() * n);
const chance = (p) => random() < p;
const pick = (list) => list[int(list.length)];
const u32 = () => BigInt(int(0x10000)) << 16n | BigInt(int(0x10000));
function shuffle(list) {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
/** Weighted choice: [[weight, value], ...]. */
function weighted(table) {
  let total = 0;
  for (const [w] of table) total += w;
  let r = random() * total;
  for (const [w, v] of table) {
    if ((r -= w) < 0) return v;
  }
  return table[table.length - 1][1];
}

// ---------------------------------------------------------------- the contract's names and limits

const REGS = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags'];
const SEGMENTS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'];
const DATA_SEGMENTS = ['ds', 'es', 'fs', 'gs'];
const SEGMENT_FIELDS = { base: 64, limit: 32, selector: 16, type: 4, present: 1, dpl: 2, db: 1, s: 1, l: 1, g: 1, avl: 1, unusable: 1 };
const SEGMENT_FIELD_NAMES = Object.keys(SEGMENT_FIELDS);
const DTABLES = ['gdt', 'idt'];
const DTABLE_FIELDS = { base: 64, limit: 16 };
const CONTROL = ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'apic_base'];
const MAX_TEXT_WRITE = 64 * 1024;
const PAGE = 4096;
/** Memory the fuzzer grows a VM to at most (4 clients stay far below --max-memory). */
const MEMORY_CAP = 4 * 1024 * 1024;
const HUGE_SIZE = 1024 ** 3; // over any --max-memory the test uses
/** Guest code for vcpu1 at 0x1000: `1: in $0x60,%al; out %al,$0xe9; jmp 1b`. */
const IO_GUEST = Buffer.from([0xe4, 0x60, 0xe6, 0xe9, 0xeb, 0xfa]);
/** Fuzzed memory writes stay above the guest code. */
const MEMORY_FUZZ_BASE = 0x10000;

/** Errnos the contract allows, per kind of operation. */
const ALLOWED = {
  text: new Set(['EINVAL', 'EBUSY']),
  sregs: new Set(['EINVAL', 'EBUSY']), // KVM_SET_SREGS's own errno is EINVAL
  interrupt: new Set(['EINVAL', 'EBUSY', 'EEXIST', 'ENXIO']), // KVM_INTERRUPT's own errnos pass through
  memory: new Set(['ENOSPC', 'EINVAL', 'EFBIG']), // EINVAL/EFBIG: the kernel's checks of offsets and sizes
  mkdir: new Set(['EEXIST', 'ENOENT', 'EPERM', 'EINVAL', 'ENOSPC', 'ENAMETOOLONG', 'ENOTDIR']),
  rmdir: new Set(['EPERM', 'ENOENT', 'ENOTDIR', 'EBUSY', 'EINVAL', 'ENAMETOOLONG']),
};
/** The daemon is gone (or its mount is broken): every later operation fails. */
const DEAD = new Set(['ENOTCONN', 'ECONNABORTED', 'ECONNREFUSED']);

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
function grammarRegs(text) {
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
function grammarSregs(text) {
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
function grammarInterrupt(text) {
  const value = parseNumber(text.trim(), 64);
  return value !== undefined && value <= 255n ? value : undefined;
}

/** One value of `bits` bits for an `io in` of count 1, with an optional data= prefix; or undefined. */
function grammarAnswer(text, bits) {
  const list = text.trim().replace(/^data=/, '').trim();
  const tokens = list === '' ? [] : list.split(/\s*,\s*|\s+/);
  if (tokens.length !== 1) return undefined;
  return parseNumber(tokens[0], bits);
}

// ---------------------------------------------------------------- text generators

const hex = (v, digits) => `0x${v.toString(16).padStart(digits, '0')}`;
/** Empty or whitespace only, as kvmfs decides it (its text as UTF-8, trimmed): such a write succeeds and changes nothing. */
const isBlank = (data) => data.toString('utf8').trim() === '';

/** A value that fits `bits` bits, biased towards edges. */
function value(bits) {
  const max = (1n << BigInt(bits)) - 1n;
  const r = int(10);
  if (r === 0) return 0n;
  if (r === 1) return max;
  if (r === 2) return 1n;
  if (r === 3) return (1n << BigInt(int(bits))) & max;
  if (r === 4) return BigInt(int(256)) & max;
  return ((u32() << 32n) | u32()) & max;
}

/** `v` as a user might write it: hex short/padded/upper, decimal, leading zeros. */
function format(v) {
  switch (int(8)) {
    case 0: return hex(v, 16);
    case 1: return `0X${v.toString(16).toUpperCase()}`;
    case 2: return v.toString(10);
    case 3: return `${'0'.repeat(1 + int(4))}${v.toString(10)}`;
    case 4: return `0x${'0'.repeat(1 + int(30))}${v.toString(16)}`;
    case 5: return `0x${[...v.toString(16)].map((c) => (chance(0.5) ? c.toUpperCase() : c)).join('')}`;
    default: return hex(v, 0);
  }
}

const sep = () => pick([' ', ' ', ' ', '\t', '  ', ' \t ', '\t\t']);
const lead = () => (chance(0.1) ? pick([' ', '\t', '  ', ' \t']) : '');
const trail = () => (chance(0.1) ? pick([' ', '\t', '   ']) : '');

/** Lines joined with \n or \r\n, blank lines sprinkled in, final newline optional. */
function assemble(lines) {
  const crlf = chance(0.15);
  const out = [];
  for (const line of lines) {
    if (chance(0.04)) out.push(pick(['', ' ', '\t', '  \t']));
    out.push(line);
  }
  const eol = crlf ? '\r\n' : '\n';
  return out.join(eol) + (chance(0.85) ? eol : '');
}

// Bad numbers: each must be rejected wherever a number goes.
const BAD_NUMBERS = [
  '0x', '0xg1', '0xG', '-1', '+1', '1e3', '1E3', '1.5', '.5', '0b101', '0o17', '0x-1', '1_000', '1,000', 'ffff', 'x10',
  '0x 1', 'Infinity', 'NaN', 'true', '\u0661', '１', '0x１', '', '=1', '0xfg', '00x1', '1x',
];
function badNumber(bits) {
  return weighted([
    [6, () => pick(BAD_NUMBERS)],
    [2, () => ((1n << BigInt(bits)) + BigInt(int(3))).toString(10)], // 2^bits, 2^bits+1, +2
    [2, () => `0x${((1n << BigInt(bits)) + BigInt(int(3))).toString(16)}`],
    [1, () => `0x1${'0'.repeat(Math.ceil(bits / 4) + int(3))}`],
    [1, () => '9'.repeat(21 + int(60))],
    [1, () => `0x${'f'.repeat(Math.ceil(bits / 4) + 1 + int(20))}`],
    [1, () => '9'.repeat(1000)],
  ])().replace(/^$/, '0x'); // an empty token would vanish into the whitespace
}

const UNKNOWN_REGS = ['rpi', 'RAX', 'Rax', 'eax', 'ax', 'r16', 'rip2', 'rflag', 'cr3', 'cs', 'x', '_', 'rax:', 'r8d', '-rax', 'ráx', 'r\u00a0ax', '#rax', 'rax#', 'interrupt_bitmap'];
const UNKNOWN_SREGS = ['xyz', 'CS', 'rax', 'cr1', 'cr5', 'cr9', 'gdtr', 'idt_base', 'interrupt', 'tr0', 'cs:', 'dr7', 'efer0', 'Cr0', 'ldtr', 'apic'];

/** A valid `name value` regs line and what it sets. */
function regsLine(name) {
  const v = value(64);
  return { text: `${lead()}${name}${sep()}${format(v)}${trail()}`, name, value: v };
}

/** Valid regs text naming a random subset. */
function validRegs() {
  const n = weighted([[5, 1], [3, 2], [2, 3 + int(4)], [1, 7 + int(12)]]);
  const lines = shuffle(REGS).slice(0, n).map(regsLine);
  return lines;
}

/** One bad regs line (must be rejected wherever it is); `used` are names already written. */
function badRegsLine(used) {
  const name = pick(REGS);
  return weighted([
    [4, () => `${pick(UNKNOWN_REGS)}${sep()}${format(value(64))}`],
    [6, () => `${name}${sep()}${badNumber(64)}`],
    [2, () => (used.length > 0 ? `${pick(used)}${sep()}${format(value(64))}` : `${name} 1\n${name} 2`)], // duplicate
    [2, () => `${lead()}${name}${trail()}`], // missing value
    [2, () => `${name}${sep()}${format(value(64))}${sep()}${pick(['1', '#', 'x', 'rax', '0x0', '//', ';'])}`],
    [2, () => pick([`${name}=${format(value(64))}`, `${name}==1`, `${name} =1`, `${name}= 1`, `${name}:1`, `${name}:${sep()}1`])],
  ])();
}

/** A random valid segment line (fields within their widths). */
function segmentLine(name, fieldNames) {
  const fields = new Map();
  const parts = shuffle(fieldNames).map((field) => {
    const v = value(SEGMENT_FIELDS[field]);
    fields.set(field, v);
    return `${field}=${format(v)}`;
  });
  return { text: `${lead()}${name}${sep()}${parts.join(sep())}${trail()}`, name, fields };
}

function dtableLine(name) {
  const fieldNames = shuffle(['base', 'limit']).slice(0, 1 + int(2));
  const fields = new Map();
  const parts = fieldNames.map((field) => {
    const v = value(DTABLE_FIELDS[field]);
    fields.set(field, v);
    return `${field}=${format(v)}`;
  });
  return { text: `${lead()}${name}${sep()}${parts.join(sep())}${trail()}`, name, fields };
}

const CR0_BITS = [0x1n, 0x2n, 0x4n, 0x8n, 0x20n, 0x10000n, 0x40000n, 0x20000000n, 0x40000000n];
const CR4_BITS = [0x1n, 0x2n, 0x4n, 0x8n, 0x10n, 0x20n, 0x40n, 0x80n, 0x200n, 0x400n, 0x800n, 0x40000n];
const bitsOf = (list) => list.filter(() => chance(0.3)).reduce((a, b) => a | b, 0n);

/**
 * A valid sregs line. `safe` lines are ones KVM accepts in real mode as
 * written (data segment base/limit/selector, gdt/idt, cr2, cr3, cr8 0..15);
 * the others KVM may refuse (EINVAL, state unchanged) or adjust.
 */
function sregsLine(name, safeOnly) {
  if (SEGMENTS.includes(name)) {
    const safe = DATA_SEGMENTS.includes(name);
    const pool = safe && (safeOnly || chance(0.6)) ? ['base', 'limit', 'selector'] : SEGMENT_FIELD_NAMES.filter((f) => name !== 'cs' || f !== 'l' || chance(0.2));
    const line = segmentLine(name, shuffle(pool).slice(0, 1 + int(Math.min(pool.length, 5))));
    return { ...line, safe: safe && [...line.fields.keys()].every((f) => ['base', 'limit', 'selector'].includes(f)) };
  }
  if (DTABLES.includes(name)) return { ...dtableLine(name), safe: true };
  let v;
  let safe = false;
  switch (name) {
    case 'cr2': case 'cr3': v = value(64); safe = true; break;
    case 'cr8': v = chance(0.9) ? BigInt(int(16)) : value(64); safe = v < 16n; break;
    case 'cr0': v = 0x10n | bitsOf(CR0_BITS) | (chance(0.5) ? 0x60000000n : 0n); break;
    case 'cr4': v = bitsOf(CR4_BITS); break;
    case 'efer': v = pick([0n, 1n, 0x100n, 0x800n, 0x101n, 0x400n, 0x900n]); break;
    case 'apic_base': v = pick([0xfee00900n, 0xfee00800n, 0xfee00000n, 0xfee00d00n, 0x1000900n, value(64)]); break;
    case 'interrupt_bitmap': {
      const words = [0n, 0n, 0n, 0n];
      if (chance(0.7)) { const bit = int(256); words[bit >> 6] = 1n << BigInt(bit & 63); }
      return { text: `${lead()}interrupt_bitmap${sep()}${words.map(format).join(sep())}${trail()}`, name, value: words, safe: false };
    }
  }
  return { text: `${lead()}${name}${sep()}${format(v)}${trail()}`, name, value: v, safe };
}

function validSregs() {
  const safeOnly = chance(0.5);
  const candidates = safeOnly
    ? [...DATA_SEGMENTS, ...DTABLES, 'cr2', 'cr3', 'cr8']
    : [...SEGMENTS, ...DTABLES, ...CONTROL, ...(chance(0.1) ? ['interrupt_bitmap'] : [])];
  const n = weighted([[5, 1], [3, 2], [2, 3 + int(3)]]);
  return shuffle(candidates).slice(0, n).map((name) => sregsLine(name, safeOnly));
}

function badSregsLine(used) {
  const seg = pick(SEGMENTS);
  const dt = pick(DTABLES);
  const cr = pick(CONTROL);
  const goodField = () => { const f = pick(SEGMENT_FIELD_NAMES); return `${f}=${format(value(SEGMENT_FIELDS[f]))}`; };
  const around = (bad) => shuffle([bad, ...(chance(0.5) ? [goodField()] : [])]).join(sep());
  return weighted([
    [3, () => `${pick(UNKNOWN_SREGS)}${sep()}${format(value(64))}`],
    [3, () => `${seg}${sep()}${around(pick(['foo=1', 'base', '=1', 'base=', 'base==1', 'Base=1', 'dpl=1=2', 'selector:1', 'type', 'present=', 'limit=0x', 'unusable=yes']))}`],
    [5, () => { // a field one past its width, or a bad number in a field
      const f = pick(SEGMENT_FIELD_NAMES);
      const bits = SEGMENT_FIELDS[f];
      const over = (1n << BigInt(bits)) + BigInt(int(3));
      const bad = chance(0.6) ? (chance(0.5) ? over.toString(10) : hex(over, 0)) : badNumber(bits);
      return `${seg}${sep()}${around(`${f}=${bad}`)}`;
    }],
    [1, () => pick([`cs dpl=4`, `ds type=16`, `ss present=2`, `cs selector=0x10000`, `ds limit=0x100000000`, `es limit=4294967296`, `fs base=0x10000000000000000`, `gs l=2`, `tr g=0x2`])],
    [1, () => `${seg}${sep()}base=${format(value(64))}${sep()}base=${format(value(64))}`], // duplicate field
    [1, () => `${lead()}${seg}${trail()}`], // no fields
    [2, () => `${dt}${sep()}${pick(['selector=0', 'limit=0x10000', 'limit=65536', 'base=0x10000000000000000', 'limit', 'type=1', '=0', 'limit=-1'])}`],
    [1, () => `${lead()}${dt}${trail()}`],
    [3, () => `${cr}${sep()}${badNumber(64)}`],
    [2, () => pick([`${cr}`, `${cr}${sep()}1${sep()}2`, `${cr}${sep()}base=0`, `${cr}=1`])],
    [2, () => `interrupt_bitmap${sep()}${Array.from({ length: pick([0, 1, 2, 3, 5, 8]) }, () => format(value(64))).join(sep())}`],
    [1, () => `interrupt_bitmap 0 0 0 ${badNumber(64)}`],
    [2, () => { // duplicate line
      if (used.length > 0) return sregsLine(pick(used), true).text;
      return `${cr} 1\n${cr} 2`;
    }],
  ])();
}

/** Bytes that are not UTF-8 (a lone continuation, a truncated sequence, an overlong, a surrogate, 0xfe/0xff). */
const INVALID_UTF8 = [[0xff], [0xfe], [0x80], [0xc0, 0x80], [0xc1, 0xbf], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc3]];
const CONTROL_BYTES = [...Array.from({ length: 9 }, (_, i) => i), 0x0b, 0x0c, ...Array.from({ length: 18 }, (_, i) => 0x0e + i), 0x7f];

/** Inserts `bytes` into `text` at a random place. */
function insert(text, bytes) {
  const buffer = Buffer.from(text);
  const at = int(buffer.length + 1);
  return Buffer.concat([buffer.subarray(0, at), Buffer.from(bytes), buffer.subarray(at)]);
}

function junk(length) {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = int(256);
  return b;
}

let bigJunk; // reused: 1 MiB
function oneMiB() {
  bigJunk ??= junk(1024 * 1024);
  return bigJunk;
}

/**
 * Text writes (regs or sregs): a case with `data`, `offset`, `fresh` (a new
 * open for this write) and `expect` (the outcomes the case allows).
 */
function textCase(file) {
  const isRegs = file === 'regs';
  const valid = () => (isRegs ? validRegs() : validSregs());
  const bad = (used) => (isRegs ? badRegsLine(used) : badSregsLine(used));
  const kind = weighted([
    [12, 'valid'],
    [40, 'bad-line'],
    [6, 'nul'],
    [6, 'control'],
    [6, 'utf8'],
    [2, 'lone-cr'],
    [3, 'empty'],
    [4, 'binary'],
    [3, 'odd-offset'],
    [1, 'too-large'],
    [0.3, 'one-mib'],
    [0.15, 'exactly-64k'],
    [1, 'no-newline'],
    [isRegs ? 2 : 0, 'continue'],
  ]);
  const good = valid();
  const text = assemble(good.map((l) => l.text));
  const must = (ok) => (ok ? ['ok'] : ['EINVAL']);
  switch (kind) {
    case 'valid':
    case 'no-newline': {
      const data = kind === 'valid' ? text : text.replace(/\r?\n$/, '');
      const safe = isRegs || good.every((l) => l.safe);
      return { gen: `${file}:${kind}`, data: Buffer.from(data), expect: safe ? ['ok'] : ['ok', 'EINVAL'] };
    }
    case 'bad-line': {
      const kept = good.slice(0, int(good.length + 1));
      const lines = kept.map((l) => l.text);
      lines.splice(int(lines.length + 1), 0, bad(kept.map((l) => l.name)));
      return { gen: `${file}:bad-line`, data: Buffer.from(assemble(lines)), expect: must(false) };
    }
    case 'nul': return { gen: `${file}:nul`, data: insert(text, Array(1 + int(3)).fill(0)), expect: must(false) };
    case 'control': return { gen: `${file}:control`, data: insert(text, [pick(CONTROL_BYTES)]), expect: must(false) };
    case 'utf8': return { gen: `${file}:utf8`, data: insert(text, pick(INVALID_UTF8)), expect: must(false) };
    case 'lone-cr': {
      // a \r anywhere but right before a newline or at the very end
      const body = text.replace(/\r?\n$/, '');
      let at = int(body.length);
      while (body[at] === '\n') at = int(body.length);
      const data = `${body.slice(0, at)}\r${body.slice(at) || 'x'}\n`;
      return { gen: `${file}:lone-cr`, data: Buffer.from(data), expect: must(false) };
    }
    case 'empty': {
      const data = pick(['\n', ' ', '\t \n', '\r\n', '\n\n\n', '   \n\t\n', '']);
      return { gen: `${file}:empty`, data: Buffer.from(data), expect: ['ok'] }; // a blank write is a no-op
    }
    case 'binary': {
      const data = junk(1 + int(300));
      return { gen: `${file}:binary`, data, expect: undefined }; // the grammar decides
    }
    case 'odd-offset': {
      const offset = chance(0.8) ? 1 + int(200) : pick([4096, 65536, 2 ** 32, 2 ** 40 + 3]);
      return { gen: `${file}:odd-offset`, data: Buffer.from(text), offset, fresh: true, expect: must(false) };
    }
    case 'too-large': {
      const size = MAX_TEXT_WRITE + 1 + int(64 * 1024 - 1);
      const data = Buffer.alloc(size, 0x0a);
      Buffer.from(text).copy(data);
      return { gen: `${file}:too-large`, data, expect: must(false) };
    }
    case 'one-mib': return { gen: `${file}:one-mib`, data: oneMiB(), expect: must(false) };
    case 'continue': {
      // two writes on one open file: the second where the first ended (its own change) or past it (EINVAL)
      const gap = chance(0.7) ? 0 : 1 + int(10);
      const second = Buffer.from(assemble(valid().map((l) => l.text)));
      return { gen: `${file}:continue`, data: Buffer.from(text), second, gap, fresh: true, expect: ['ok'], secondExpect: gap === 0 ? ['ok'] : ['EINVAL'] };
    }
    case 'exactly-64k': {
      // a valid write padded with blank lines to exactly the largest size taken
      const data = Buffer.alloc(MAX_TEXT_WRITE, 0x0a);
      Buffer.from(text.replace(/\r/g, '')).copy(data);
      const safe = isRegs || good.every((l) => l.safe);
      return { gen: `${file}:exactly-64k`, data, expect: safe ? ['ok'] : ['ok', 'EINVAL'] };
    }
  }
  throw new Error(kind);
}

/** Answers written to run: `pending` says whether an `io in` (size 1, count 1) is waiting. */
function runCase(pending) {
  const v = value(8);
  const kind = weighted([[pending ? 30 : 10, 'valid'], [8, 'two'], [4, 'none'], [6, 'wide'], [6, 'bad'], [4, 'junk'], [1, 'odd-offset'], [0.3, 'too-large']]);
  const ws = () => pick(['', ' ', '\n', ' \n', '\t']);
  let data;
  switch (kind) {
    case 'valid': data = `${ws()}${chance(0.3) ? 'data=' : ''}${format(v)}${ws()}`; break;
    case 'two': data = `${format(v)}${pick([',', ', ', ' ', ',\t'])}${format(value(8))}\n`; break;
    case 'none': data = pick(['\n', ' ', 'data=', 'data=\n', ',', ' , ']); break;
    case 'wide': data = `${chance(0.3) ? 'data=' : ''}${format(256n + value(8) + (chance(0.5) ? 0n : value(64) & ~0xffn))}\n`; break;
    case 'bad': data = `${badNumber(8)}\n`; break;
    case 'junk': data = junk(1 + int(64)); break;
    case 'odd-offset': data = `${format(v)}\n`; break;
    case 'too-large': data = Buffer.alloc(MAX_TEXT_WRITE + 1 + int(1000), 0x20); break;
  }
  const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const offset = kind === 'odd-offset' ? 1 + int(50) : 0;
  let expect;
  if (kind === 'odd-offset' || kind === 'too-large') expect = ['EINVAL'];
  else if (kind === 'none' && isBlank(buffer)) expect = ['ok']; // a no-op, pending or not: not an answer
  else if (!pending) expect = ['EINVAL'];
  else if (kind === 'valid') expect = ['ok'];
  else if (kind === 'junk') expect = undefined;
  else expect = ['EINVAL'];
  return { gen: `run:${pending ? 'pending' : 'idle'}:${kind}`, data: buffer, offset, fresh: offset !== 0, expect, answer: kind === 'valid' && expect?.[0] === 'ok' ? v : undefined };
}

function interruptCase() {
  const vector = BigInt(int(256));
  const ws = () => pick(['', '', ' ', '\n', ' \n', '\t', '\r\n']);
  const kind = weighted([[8, 'valid'], [1, 'odd-space'], [3, 'range'], [4, 'bad'], [2, 'two'], [2, 'empty'], [2, 'junk'], [1, 'odd-offset'], [0.3, 'too-large']]);
  let data;
  switch (kind) {
    case 'valid': case 'odd-offset': data = `${ws()}${format(vector)}${ws()}`; break;
    case 'odd-space': data = `${pick(['\x0b', '\x0c', '\u00a0', '\ufeff', '\u2028'])}${format(vector)}\n`; break;
    case 'range': data = `${format(256n + (chance(0.5) ? BigInt(int(1000)) : value(64) & ~0xffn | 0x100n))}\n`; break;
    case 'bad': data = `${badNumber(64)}\n`; break;
    case 'two': data = `${format(vector)}${pick([' ', ',', '\n', ' 0x'])}${format(BigInt(int(256)))}\n`; break;
    case 'empty': data = pick(['\n', ' ', '\t\n', '\r\n']); break;
    case 'junk': data = junk(1 + int(32)); break;
    case 'too-large': data = Buffer.alloc(MAX_TEXT_WRITE + 1, 0x20); break;
  }
  const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const offset = kind === 'odd-offset' ? 1 + int(50) : 0;
  let expect;
  if (kind === 'valid') expect = ['ok', 'EEXIST', 'ENXIO'];
  else if (kind === 'empty') expect = ['ok']; // a blank write is a no-op
  else if (kind === 'junk' || kind === 'odd-space') expect = undefined; // the grammar decides
  else expect = ['EINVAL'];
  return { gen: `interrupt:${kind}`, data: buffer, offset, fresh: offset !== 0, expect };
}

function stopCase() {
  const kind = weighted([[6, 'text'], [3, 'junk'], [1, 'odd-offset'], [0.3, 'too-large']]);
  switch (kind) {
    case 'text': return { gen: 'stop:text', data: Buffer.from(pick(['1\n', 'stop\n', '\n', 'x', '0', 'please'])), expect: ['ok'] };
    case 'junk': return { gen: 'stop:junk', data: junk(1 + int(200)), expect: ['ok'] };
    case 'odd-offset': return { gen: 'stop:odd-offset', data: Buffer.from('1\n'), offset: 1 + int(100), fresh: true, expect: ['EINVAL'] };
    default: return { gen: 'stop:too-large', data: Buffer.alloc(MAX_TEXT_WRITE + 1 + int(100), 0x31), expect: ['EINVAL'] };
  }
}

// ---------------------------------------------------------------- names for mkdir / rmdir

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

const path = (...parts) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));

// ---------------------------------------------------------------- state

const fds = {};
const readBuffer = Buffer.alloc(16 * 1024); // every state file's text fits: one FUSE read per snapshot

/** A fresh snapshot: one read at offset 0 of an open file. */
function snapshot(fd) {
  const n = fs.readSync(fd, readBuffer, 0, readBuffer.length, 0);
  return readBuffer.toString('utf8', 0, n);
}
const readState = () => ({ regs: snapshot(fds.regs), sregs: snapshot(fds.sregs) });

/** regs text -> Map name -> value text */
function parseNameValue(text) {
  const map = new Map();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const space = line.indexOf(' ');
    map.set(line.slice(0, space), line.slice(space + 1));
  }
  return map;
}
/** `a=b c=d` -> Map */
function parseFields(text) {
  return new Map(text.split(' ').map((kv) => kv.split('=')));
}

// ---------------------------------------------------------------- results

const summary = {
  client: CLIENT, vm: VM, seed: SEED, group: GROUP,
  cases: 0, writes: 0, accepted: 0, rejected: 0, runs: 0,
  byFile: {}, errnos: {},
  partialApplications: 0, collateralChanges: 0, wrongValues: 0, kvmAdjusted: 0,
  unexpectedErrnos: 0, wrongOutcomes: 0, lastErrorProblems: 0, runAnswerProblems: 0, memoryProblems: 0, treeProblems: 0,
  nameMismatches: 0, crashes: 0,
  maxLatencyMs: 0, elapsedMs: 0, msByKind: {},
  adjustedExamples: [], nameMismatchExamples: [], failures: [],
};

function describe(c) {
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

function fail(counter, message, cases, extra = {}) {
  summary[counter]++;
  if (summary.failures.length < 10) {
    summary.failures.push({ kind: counter, message, seed: SEED, client: CLIENT, inputs: cases.map(describe), ...extra });
  }
  if (flags.verbose) process.stderr.write(`FAIL ${counter}: ${message} ${JSON.stringify(cases.map(describe))}\n`);
}

// ---------------------------------------------------------------- doing one operation

function errnoOf(error) {
  if (error && typeof error.code === 'string') return error.code;
  throw error;
}

/** Runs `operation`, returns 'ok' or the errno code; records latency and crashes. */
function attempt(operation) {
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
function writeText(c) {
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
function checkLastError(c, prefix, pattern) {
  const text = snapshot(fds.lastError);
  const lines = text.split('\n');
  const okShape = lines.length === 2 && lines[1] === '' && text.startsWith(`${prefix}: `) && (!pattern || pattern.test(text));
  if (!okShape) fail('lastErrorProblems', `last_error after a rejected write to ${prefix} is ${JSON.stringify(text)}`, [c]);
}

/** Classifies the outcome against the contract (allowed) and the case (expected). */
function checkOutcome(c, allowed) {
  summary.errnos[c.outcome] = (summary.errnos[c.outcome] ?? 0) + 1;
  if (c.outcome !== 'ok' && !allowed.has(c.outcome)) {
    fail('unexpectedErrno', `${c.outcome} is not an errno the contract allows here`, [c]);
    return false;
  }
  if (c.expect && !c.expect.includes(c.outcome)) {
    fail('wrongOutcomes', `expected ${c.expect.join(' or ')}, got ${c.outcome}`, [c]);
    return false;
  }
  return true;
}

// Group verification: `verified` is the state last read; `pending` are the
// cases since then that must not have changed it.
let verified;
let pending = [];

function verifyUnchanged() {
  if (pending.length === 0) return;
  const now = readState();
  if (now.regs !== verified.regs || now.sregs !== verified.sregs) {
    fail('partialApplications', 'state changed by writes that must not change it', pending, { diff: diffText(verified, now) });
    verified = now;
  }
  pending = [];
}

function noChange(c) {
  pending.push(c);
  if (pending.length >= GROUP) verifyUnchanged();
}

function diffText(before, after) {
  const out = [];
  for (const key of ['regs', 'sregs']) {
    const b = before[key].split('\n');
    const a = after[key].split('\n');
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) out.push(`- ${b[i] ?? ''}`, `+ ${a[i] ?? ''}`);
    }
  }
  return out.slice(0, 20);
}

/**
 * KVM's own adjustments of what it was given (not kvmfs's doing): rflags
 * bit 1 is always set and VM (bit 17) may be cleared; cr8 ignores values
 * with reserved bits; cr0.ET is forced; interrupt_bitmap holds one queued
 * vector (the lowest written) and writing zeros does not clear it; segment
 * attributes of a not-present/unusable segment, g (SVM derives it from the
 * limit), type's accessed/busy bits and ss.dpl (SVM: the CPL) may be
 * normalized.
 */
function adjustedOk(line, field, written, got, old, gotFields) {
  if (line === 'rflags') return got === (written | 2n) || got === ((written | 2n) & ~0x20000n);
  if (line === 'cr8') return written > 15n && got === old;
  if (line === 'cr0') return got === (written | 0x10n);
  if (line === 'interrupt_bitmap') return true; // checked as a whole below
  if (SEGMENTS.includes(line)) {
    const present = gotFields.get('present') === '1' && gotFields.get('unusable') === '0';
    if (!present && !['base', 'limit', 'selector'].includes(field)) return true;
    if (field === 'g') return got === (BigInt(gotFields.get('limit')) > 0xfffffn ? 1n : 0n);
    if (field === 'type') return got === (written | 1n) || (line === 'tr' && got === (written | 2n));
    if ((field === 'present' || field === 'unusable') && gotFields.get('present') !== gotFields.get('unusable')) return true;
  }
  return false;
}

function noteAdjusted(c, what) {
  summary.kvmAdjusted++;
  if (summary.adjustedExamples.length < 5) summary.adjustedExamples.push({ gen: c.gen, case: c.index, what });
}

/** An accepted regs write: the new text is the old with the named registers replaced. */
function checkRegsWrite(c, patch) {
  const now = { regs: snapshot(fds.regs), sregs: verified.sregs };
  const blame = [...pending, c];
  const old = parseNameValue(verified.regs);
  const got = parseNameValue(now.regs);
  for (const name of REGS) {
    if (patch.has(name)) {
      const want = patch.get(name);
      const have = BigInt(got.get(name));
      if (have !== want) {
        if (adjustedOk(name, undefined, want, have, BigInt(old.get(name)))) noteAdjusted(c, `${name} ${hex(want, 16)} -> ${hex(have, 16)}`);
        else fail('wrongValues', `${name} was written ${hex(want, 16)} but reads ${got.get(name)}`, blame);
      }
    } else if (got.get(name) !== old.get(name)) {
      fail('collateralChanges', `${name} changed (${old.get(name)} -> ${got.get(name)}) though the write did not name it`, blame);
    }
  }
  verified = now;
  noChange(c); // sregs must not have changed: checked with the group
}

/** An accepted sregs (or interrupt) write: only the named lines and fields changed, to the written values. */
function checkSregsWrite(c, patch, { freeLines = [] } = {}) {
  const now = { regs: verified.regs, sregs: snapshot(fds.sregs) };
  const blame = [...pending, c];
  const old = parseNameValue(verified.sregs);
  const got = parseNameValue(now.sregs);
  for (const [name, oldText] of old) {
    const gotText = got.get(name);
    if (freeLines.includes(name)) continue;
    if (!patch.has(name)) {
      if (gotText !== oldText) fail('collateralChanges', `${name} changed though the write did not name it: ${oldText} -> ${gotText}`, blame);
      continue;
    }
    const written = patch.get(name);
    if (name === 'interrupt_bitmap') {
      const want = gotText.split(' ').map(BigInt);
      const exact = written.every((w, i) => w === want[i]);
      if (!exact) {
        const lowest = written.findIndex((w) => w !== 0n);
        const ok = lowest === -1 ? gotText === oldText || want.every((w) => w === 0n)
          : want.every((w, i) => w === (i === lowest ? written[i] & -written[i] : 0n));
        if (ok) noteAdjusted(c, `interrupt_bitmap ${written.map((w) => hex(w, 0)).join(' ')} -> ${gotText}`);
        else fail('wrongValues', `interrupt_bitmap was written ${written.map((w) => hex(w, 0)).join(' ')} but reads ${gotText}`, blame);
      }
    } else if (written instanceof Map) {
      const oldFields = parseFields(oldText);
      const gotFields = parseFields(gotText);
      for (const [field, oldValue] of oldFields) {
        const have = BigInt(gotFields.get(field));
        const want = written.has(field) ? written.get(field) : BigInt(oldValue);
        if (have === want) continue;
        if (adjustedOk(name, field, want, have, BigInt(oldValue), gotFields)) noteAdjusted(c, `${name} ${field}=${hex(want, 0)} -> ${hex(have, 0)}`);
        else if (written.has(field)) fail('wrongValues', `${name} ${field} was written ${hex(want, 0)} but reads ${gotFields.get(field)}`, blame);
        else fail('collateralChanges', `${name} ${field} changed (${oldValue} -> ${gotFields.get(field)}) though the write did not name it`, blame);
      }
    } else {
      const have = BigInt(gotText);
      if (have !== written) {
        if (adjustedOk(name, undefined, written, have, BigInt(oldText))) noteAdjusted(c, `${name} ${hex(written, 0)} -> ${gotText}`);
        else fail('wrongValues', `${name} was written ${hex(written, 0)} but reads ${gotText}`, blame);
      }
    }
  }
  verified = now;
  noChange(c); // regs must not have changed: checked with the group
}

// ---------------------------------------------------------------- case runners

let memorySize = 0;
let answer; // the value accepted for vcpu1's pending `io in`, delivered by its next run
let answersSinceRun = 0;
/** the writes to vcpu1/run since it last ran: the suspects if the run shows the wrong value */
let answerCasesSinceRun = [];
let tmpCounter = 0;

function countWrite(c, n = 1) {
  summary.writes += n;
  summary.byFile[c.file] = (summary.byFile[c.file] ?? 0) + n;
  if (c.outcome === 'ok') summary.accepted++;
  else summary.rejected++;
}

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

function runTextCase(c) {
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
      if (!patch) { fail('wrongOutcomes', 'accepted a regs write the grammar rejects', [c]); verified = readState(); pending = []; return; }
      checkRegsWrite(c, patch);
      return;
    }
    case 'vcpu0/sregs': {
      const patch = grammarSregs(text);
      if (!patch) { fail('wrongOutcomes', 'accepted an sregs write the grammar rejects', [c]); verified = readState(); pending = []; return; }
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

/** Runs vcpu1 to its next exit; a run cut short by the mount's run time limit (a very busy host) says `intr` and resumes on the next read. */
function runOnce() {
  let line = snapshot(fds.run1);
  for (let i = 0; i < 5 && line === 'intr\n'; i++) line = snapshot(fds.run1);
  return line;
}

/** Runs vcpu1 twice: its `out` must show the last accepted answer (or 0), then it waits on `in` again. */
function checkRunAnswer(c) {
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

function memorySizeNow() {
  return fs.fstatSync(fds.memory).size;
}

function runMemoryCase(c) {
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

function memoryCase() {
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
let memoryModel = 0;

// mkdir / rmdir: at the top (throwaway VMs with odd names) and in this client's VM.
function dirCase() {
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

function runDirCase(c) {
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

// ---------------------------------------------------------------- setup and the main loop

function setup() {
  fs.mkdirSync(V);
  fs.mkdirSync(`${V}/vcpu0`);
  fs.mkdirSync(`${V}/vcpu1`);
  fs.truncateSync(`${V}/memory`, 64 * 1024);
  memoryModel = 64 * 1024;
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
  memorySize = memorySizeNow();
  verified = readState();
}

function teardown() {
  for (const fd of new Set(Object.values(fds))) fs.closeSync(fd);
  fs.rmdirSync(V);
}

function nextCase(index) {
  const target = weighted([
    [30, 'vcpu0/regs'], [30, 'vcpu0/sregs'], [5, 'vcpu0/run'], [5, 'vcpu1/run'], [6, 'vcpu0/interrupt'],
    [3, 'stop'], [14, 'memory'], [1, 'dir'],
  ]);
  let c;
  switch (target) {
    case 'vcpu0/regs': c = { ...textCase('regs'), file: target }; break;
    case 'vcpu0/sregs': c = { ...textCase('sregs'), file: target }; break;
    case 'vcpu0/run': c = { ...runCase(false), file: target }; break;
    case 'vcpu1/run': c = { ...runCase(true), file: target }; break;
    case 'vcpu0/interrupt': c = { ...interruptCase(), file: target }; break;
    case 'stop': c = { ...stopCase(), file: pick(['vcpu0/stop', 'vcpu1/stop']) }; break;
    case 'memory': c = memoryCase(); break;
    case 'dir': c = dirCase(); break;
  }
  c.index = index;
  return c;
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
  const finalSize = memorySizeNow();
  if (finalSize !== memorySize) fail('memoryProblems', `memory size ${finalSize} at the end; ${memorySize} after the last truncate (only truncate may change it)`, []);
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
