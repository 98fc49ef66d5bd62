// The vcpu's sregs file: struct kvm_sregs as text. Segments and descriptor
// tables are `name field=value ...` lines, so that a write can change single
// fields; control registers are `name value` lines like regs.
import {
  CONTROL_REG_NAMES, DTABLE_NAMES, SEGMENT_NAMES,
  type ControlRegName, type Dtable, type DtableName, type Segment, type SegmentField,
  type SegmentName, type Sregs,
} from '../../backend/types.js';
import { FormatError, atLine, quote, within } from './errors.js';
import { parseFields } from './fields.js';
import { tokenLines } from './lines.js';
import { hex, parseU64 } from './numbers.js';

/** What one write to sregs changes: only the lines, and the fields, it names. */
export type SregsPatch =
  & { [K in SegmentName]?: Partial<Segment> }
  & { [K in DtableName]?: Partial<Dtable> }
  & { [K in ControlRegName]?: bigint }
  & { interrupt_bitmap?: Sregs['interrupt_bitmap'] };

/** Field widths in bits, as struct kvm_segment allows them (dpl 0..3, type 0..15, flags 0..1). */
const SEGMENT_FIELD_BITS: Record<SegmentField, number> = {
  base: 64, limit: 32, selector: 16, type: 4,
  present: 1, dpl: 2, db: 1, s: 1, l: 1, g: 1, avl: 1, unusable: 1,
};
const DTABLE_FIELD_BITS: Record<keyof Dtable, number> = { base: 64, limit: 16 };

function renderSegment(name: SegmentName, s: Segment): string {
  return `${name} base=${hex(s.base, 16)} limit=${hex(s.limit, 8)} selector=${hex(s.selector, 4)}` +
    ` type=${hex(s.type, 1)} present=${s.present} dpl=${s.dpl} db=${s.db} s=${s.s} l=${s.l}` +
    ` g=${s.g} avl=${s.avl} unusable=${s.unusable}\n`;
}

export function renderSregs(sregs: Sregs): string {
  return [
    ...SEGMENT_NAMES.map((name) => renderSegment(name, sregs[name])),
    ...DTABLE_NAMES.map((name) => `${name} base=${hex(sregs[name].base, 16)} limit=${hex(sregs[name].limit, 4)}\n`),
    ...CONTROL_REG_NAMES.map((name) => `${name} ${hex(sregs[name], 16)}\n`),
    `interrupt_bitmap ${sregs.interrupt_bitmap.map((word) => hex(word, 16)).join(' ')}\n`,
  ].join('');
}

function isOneOf<T extends string>(names: readonly T[], name: string): name is T {
  return (names as readonly string[]).includes(name);
}

/** The tokens after a line's name, which must be exactly `count` numbers. */
function parseValues(name: string, tokens: string[], count: number): bigint[] {
  if (tokens.length !== count) {
    throw new FormatError(`${name}: expected ${count} value${count === 1 ? '' : 's'}, got ${tokens.length}`);
  }
  return tokens.map((token) => within(name, () => parseU64(token)));
}

/** Parses one line into `patch`; `name` is known to be new in this write. */
function parseLine(patch: SregsPatch, name: string, rest: string[]): void {
  if (isOneOf(SEGMENT_NAMES, name)) {
    // parseFields only yields the keys and value types of SEGMENT_FIELD_BITS.
    patch[name] = parseFields(name, rest, SEGMENT_FIELD_BITS) as Partial<Segment>;
  } else if (isOneOf(DTABLE_NAMES, name)) {
    patch[name] = parseFields(name, rest, DTABLE_FIELD_BITS) as Partial<Dtable>;
  } else if (isOneOf(CONTROL_REG_NAMES, name)) {
    [patch[name]] = parseValues(name, rest, 1);
  } else if (name === 'interrupt_bitmap') {
    patch.interrupt_bitmap = parseValues(name, rest, 4) as Sregs['interrupt_bitmap'];
  } else {
    throw new FormatError(`unknown register ${quote(name)}`);
  }
}

/** The lines a write names, in any order; each segment line only the fields it names. */
export function parseSregs(text: string): SregsPatch {
  const patch: SregsPatch = {};
  const seen = new Set<string>();
  for (const { line, tokens: [name, ...rest] } of tokenLines(text)) {
    atLine(line, () => {
      if (seen.has(name)) throw new FormatError(`duplicate register ${name}`);
      parseLine(patch, name, rest);
      seen.add(name);
    });
  }
  if (seen.size === 0) throw new FormatError('no registers given');
  return patch;
}

/** `current` with `patch` applied, as a new object; `current` is left as it was. */
export function applySregsPatch(current: Sregs, patch: SregsPatch): Sregs {
  const next = structuredClone(current);
  for (const name of SEGMENT_NAMES) Object.assign(next[name], patch[name]);
  for (const name of DTABLE_NAMES) Object.assign(next[name], patch[name]);
  for (const name of CONTROL_REG_NAMES) next[name] = patch[name] ?? next[name];
  if (patch.interrupt_bitmap) next.interrupt_bitmap = [...patch.interrupt_bitmap];
  return next;
}
