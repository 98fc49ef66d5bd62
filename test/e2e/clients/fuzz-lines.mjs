// Random values and lines for the text files: valid ones written as a user
// might, and bad ones that must be rejected wherever they stand.
import { chance, int, pick, shuffle, u32, weighted } from './fuzz-random.mjs';
import { CONTROL, DATA_SEGMENTS, DTABLE_FIELDS, DTABLES, hex, REGS, SEGMENT_FIELD_NAMES, SEGMENT_FIELDS, SEGMENTS } from './fuzz-contract.mjs';

/** A value that fits `bits` bits, biased towards edges. */
export function value(bits) {
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
export function format(v) {
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
export function assemble(lines) {
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
export function badNumber(bits) {
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
export function validRegs() {
  const n = weighted([[5, 1], [3, 2], [2, 3 + int(4)], [1, 7 + int(12)]]);
  const lines = shuffle(REGS).slice(0, n).map(regsLine);
  return lines;
}

/** One bad regs line (must be rejected wherever it is); `used` are names already written. */
export function badRegsLine(used) {
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

export function validSregs() {
  const safeOnly = chance(0.5);
  const candidates = safeOnly
    ? [...DATA_SEGMENTS, ...DTABLES, 'cr2', 'cr3', 'cr8']
    : [...SEGMENTS, ...DTABLES, ...CONTROL, ...(chance(0.1) ? ['interrupt_bitmap'] : [])];
  const n = weighted([[5, 1], [3, 2], [2, 3 + int(3)]]);
  return shuffle(candidates).slice(0, n).map((name) => sregsLine(name, safeOnly));
}

export function badSregsLine(used) {
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
export const INVALID_UTF8 = [[0xff], [0xfe], [0x80], [0xc0, 0x80], [0xc1, 0xbf], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc3]];
export const CONTROL_BYTES = [...Array.from({ length: 9 }, (_, i) => i), 0x0b, 0x0c, ...Array.from({ length: 18 }, (_, i) => 0x0e + i), 0x7f];

/** Inserts `bytes` into `text` at a random place. */
export function insert(text, bytes) {
  const buffer = Buffer.from(text);
  const at = int(buffer.length + 1);
  return Buffer.concat([buffer.subarray(0, at), Buffer.from(bytes), buffer.subarray(at)]);
}

export function junk(length) {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = int(256);
  return b;
}

let bigJunk; // reused: 1 MiB
export function oneMiB() {
  bigJunk ??= junk(1024 * 1024);
  return bigJunk;
}
