import { describe, expect, it } from 'vitest';
import {
  CONTROL_REG_NAMES, DTABLE_NAMES, SEGMENT_NAMES, type Segment, type Sregs,
} from '../../../../src/backend/types.js';
import { applySregsPatch, parseSregs, renderSregs, type SregsPatch } from '../../../../src/fs/format/sregs.js';
import { formatError } from './format-error.js';

const U64_MAX = 2n ** 64n - 1n;

const segment = (fields: Partial<Segment>): Segment => ({
  base: 0n, limit: 0xffff, selector: 0, type: 3, present: 1, dpl: 0,
  db: 0, s: 1, l: 0, g: 0, avl: 0, unusable: 0, ...fields,
});

/** What KVM reports for a fresh x86 vcpu (real mode at the reset vector). */
const reset: Sregs = {
  cs: segment({ base: 0xffff0000n, selector: 0xf000, type: 0xb }),
  ds: segment({}), es: segment({}), fs: segment({}), gs: segment({}), ss: segment({}),
  tr: segment({ type: 0xb, s: 0 }),
  ldt: segment({ type: 2, s: 0 }),
  gdt: { base: 0n, limit: 0xffff },
  idt: { base: 0n, limit: 0xffff },
  cr0: 0x60000010n, cr2: 0n, cr3: 0n, cr4: 0n, cr8: 0n, efer: 0n, apic_base: 0xfee00900n,
  interrupt_bitmap: [0n, 0n, 0n, 0n],
};

const resetText = `\
cs base=0x00000000ffff0000 limit=0x0000ffff selector=0xf000 type=0xb present=1 dpl=0 db=0 s=1 l=0 g=0 avl=0 unusable=0
ds base=0x0000000000000000 limit=0x0000ffff selector=0x0000 type=0x3 present=1 dpl=0 db=0 s=1 l=0 g=0 avl=0 unusable=0
es base=0x0000000000000000 limit=0x0000ffff selector=0x0000 type=0x3 present=1 dpl=0 db=0 s=1 l=0 g=0 avl=0 unusable=0
fs base=0x0000000000000000 limit=0x0000ffff selector=0x0000 type=0x3 present=1 dpl=0 db=0 s=1 l=0 g=0 avl=0 unusable=0
gs base=0x0000000000000000 limit=0x0000ffff selector=0x0000 type=0x3 present=1 dpl=0 db=0 s=1 l=0 g=0 avl=0 unusable=0
ss base=0x0000000000000000 limit=0x0000ffff selector=0x0000 type=0x3 present=1 dpl=0 db=0 s=1 l=0 g=0 avl=0 unusable=0
tr base=0x0000000000000000 limit=0x0000ffff selector=0x0000 type=0xb present=1 dpl=0 db=0 s=0 l=0 g=0 avl=0 unusable=0
ldt base=0x0000000000000000 limit=0x0000ffff selector=0x0000 type=0x2 present=1 dpl=0 db=0 s=0 l=0 g=0 avl=0 unusable=0
gdt base=0x0000000000000000 limit=0xffff
idt base=0x0000000000000000 limit=0xffff
cr0 0x0000000060000010
cr2 0x0000000000000000
cr3 0x0000000000000000
cr4 0x0000000000000000
cr8 0x0000000000000000
efer 0x0000000000000000
apic_base 0x00000000fee00900
interrupt_bitmap 0x0000000000000000 0x0000000000000000 0x0000000000000000 0x0000000000000000
`;

const maxSegment: Segment = {
  base: U64_MAX, limit: 0xffffffff, selector: 0xffff, type: 0xf, present: 1, dpl: 3,
  db: 1, s: 1, l: 1, g: 1, avl: 1, unusable: 1,
};
const zeroSegment: Segment = {
  base: 0n, limit: 0, selector: 0, type: 0, present: 0, dpl: 0, db: 0, s: 0, l: 0, g: 0, avl: 0, unusable: 0,
};
const uniform = (seg: Segment, limit: number, value: bigint): Sregs => ({
  ...Object.fromEntries(SEGMENT_NAMES.map((name) => [name, { ...seg }])),
  ...Object.fromEntries(DTABLE_NAMES.map((name) => [name, { base: value, limit }])),
  ...Object.fromEntries(CONTROL_REG_NAMES.map((name) => [name, value])),
  interrupt_bitmap: [value, value, value, value],
}) as Sregs;

/** A long-mode state with a different value in every field. */
const longMode: Sregs = {
  ...reset,
  cs: { ...maxSegment, base: 0x1000n, limit: 0xfffff, selector: 0x8, dpl: 0, db: 0, avl: 0, unusable: 0 },
  ss: segment({ selector: 0x10, type: 3, g: 1, db: 1 }),
  gdt: { base: 0x500n, limit: 0x17 },
  idt: { base: 0x520n, limit: 0xfff },
  cr0: 0x80050033n, cr2: 0xdeadbeefn, cr3: 0x2000n, cr4: 0x6b0n, cr8: 0xfn, efer: 0xd01n,
  interrupt_bitmap: [1n, 1n << 63n, 0x8000n, U64_MAX],
};

describe('renderSregs', () => {
  it('renders the reset state in the contract format', () => {
    expect(renderSregs(reset)).toBe(resetText);
  });

  it('renders the widest values without cutting them', () => {
    const lines = renderSregs(uniform(maxSegment, 0xffff, U64_MAX)).split('\n');
    expect(lines[0]).toBe('cs base=0xffffffffffffffff limit=0xffffffff selector=0xffff type=0xf present=1 dpl=3 db=1 s=1 l=1 g=1 avl=1 unusable=1');
    expect(lines[8]).toBe('gdt base=0xffffffffffffffff limit=0xffff');
    expect(lines[16]).toBe('apic_base 0xffffffffffffffff');
    expect(lines[17]).toBe(`interrupt_bitmap ${Array(4).fill('0xffffffffffffffff').join(' ')}`);
  });
});

describe('render, parse, apply', () => {
  it.each<[string, Sregs]>([
    ['reset', reset],
    ['long mode', longMode],
    ['all zero', uniform(zeroSegment, 0, 0n)],
    ['all max', uniform(maxSegment, 0xffff, U64_MAX)],
  ])('gives back the %s state, from any starting state', (_, sregs) => {
    const patch = parseSregs(renderSregs(sregs));
    expect(applySregsPatch(uniform(zeroSegment, 0, 0n), patch)).toEqual(sregs);
    expect(applySregsPatch(uniform(maxSegment, 0xffff, U64_MAX), patch)).toEqual(sregs);
  });
});

describe('parseSregs', () => {
  it.each<[string, string, SregsPatch]>([
    ['named segment fields only', 'cs selector=0x8 l=1 db=0', { cs: { selector: 8, l: 1, db: 0 } }],
    ['a segment base as a bigint', 'fs base=0x7fff00001000', { fs: { base: 0x7fff00001000n } }],
    ['decimal fields', 'ss selector=16 type=3 dpl=3', { ss: { selector: 16, type: 3, dpl: 3 } }],
    ['a descriptor table field', 'gdt limit=0x17\n', { gdt: { limit: 0x17 } }],
    ['a control register', 'cr3 0x2000', { cr3: 0x2000n }],
    ['the interrupt bitmap', 'interrupt_bitmap 1 0 0 0x8000000000000000', { interrupt_bitmap: [1n, 0n, 0n, 1n << 63n] }],
    [
      'several lines in any order, tabs, CRLF and blank lines',
      'efer 0x500\r\n\n\tcs\tl=1 \r\ngdt base=0x500 limit=0x17\ncr0 0x80000011\n\n',
      { efer: 0x500n, cs: { l: 1 }, gdt: { base: 0x500n, limit: 0x17 }, cr0: 0x80000011n },
    ],
  ])('accepts %s', (_, text, patch) => {
    expect(parseSregs(text)).toEqual(patch);
  });

  it.each<[string, string, string]>([
    ['an unknown line', 'xs base=0', 'line 1: unknown register "xs"'],
    ['a prototype property name', 'constructor 1', 'line 1: unknown register "constructor"'],
    ['a regs register', 'rip 0x1000', 'line 1: unknown register "rip"'],
    ['a duplicate line', 'cs selector=0x8\ncr0 1\ncs l=1', 'line 3: duplicate register cs'],
    ['a duplicate control register', 'cr0 1\ncr0 1', 'line 2: duplicate register cr0'],
    ['a segment line without fields', 'cs', 'line 1: cs: no fields given'],
    ['a descriptor table line without fields', 'idt\t', 'line 1: idt: no fields given'],
    ['a field without =', 'cs selector 0x8', 'line 1: cs: expected field=value, got "selector"'],
    ['a field without a name', 'cs =0x8', 'line 1: cs: expected field=value, got "=0x8"'],
    ['a field without a value', 'cs selector=', 'line 1: cs selector: bad number ""'],
    ['a field with two =', 'cs selector==8', 'line 1: cs selector: bad number "=8"'],
    ['spaces around =', 'cs selector = 8', 'line 1: cs: expected field=value, got "selector"'],
    ['an unknown segment field', 'cs foo=1', 'line 1: cs: unknown field "foo"'],
    ['a prototype property as a field', 'cs __proto__=1', 'line 1: cs: unknown field "__proto__"'],
    ['a segment field on a descriptor table', 'gdt selector=1', 'line 1: gdt: unknown field "selector"'],
    ['a duplicate field', 'cs l=1 db=0 l=0', 'line 1: cs: duplicate field l'],
    ['a bad field number', 'ds base=0xzz', 'line 1: ds base: bad number "0xzz"'],
    ['a segment base over 64 bits', 'cs base=0x10000000000000000', 'line 1: cs base: value 0x10000000000000000 out of range for 64 bits'],
    ['a segment limit over 32 bits', 'cs limit=0x100000000', 'line 1: cs limit: value 0x100000000 out of range for 32 bits'],
    ['a selector over 16 bits', 'cs selector=0x10000', 'line 1: cs selector: value 0x10000 out of range for 16 bits'],
    ['a type over 15', 'cs type=16', 'line 1: cs type: value 16 out of range for 4 bits'],
    ['a dpl over 3', 'ss dpl=4', 'line 1: ss dpl: value 4 out of range for 2 bits'],
    ['a flag over 1', 'cs l=2', 'line 1: cs l: value 2 out of range for 1 bit'],
    ['a negative flag', 'cs g=-1', 'line 1: cs g: bad number "-1"'],
    ['a descriptor table limit over 16 bits', 'gdt limit=0x10000', 'line 1: gdt limit: value 0x10000 out of range for 16 bits'],
    ['a control register without a value', 'cr0', 'line 1: cr0: expected 1 value, got 0'],
    ['a control register with two values', 'cr0 1 2', 'line 1: cr0: expected 1 value, got 2'],
    ['a control register in field syntax', 'cr0 value=1', 'line 1: cr0: bad number "value=1"'],
    ['a control register over 64 bits', 'efer 18446744073709551616', 'line 1: efer: value 18446744073709551616 out of range for 64 bits'],
    ['a short interrupt bitmap', 'interrupt_bitmap 0 0 0', 'line 1: interrupt_bitmap: expected 4 values, got 3'],
    ['a long interrupt bitmap', 'interrupt_bitmap 0 0 0 0 0', 'line 1: interrupt_bitmap: expected 4 values, got 5'],
    ['a bad interrupt bitmap word', 'interrupt_bitmap 0 0 x 0', 'line 1: interrupt_bitmap: bad number "x"'],
    ['an error on a later line', 'cr0 1\n\ncs l=1 x=1', 'line 3: cs: unknown field "x"'],
    ['a NUL byte', 'cs l=1\0', 'line 1: control character 0x00 not allowed'],
    ['empty input', '', 'no registers given'],
    ['only blank lines', '\r\n\t\n', 'no registers given'],
  ])('rejects %s', (_, text, message) => {
    expect(() => parseSregs(text)).toThrow(formatError(message));
  });
});

describe('applySregsPatch', () => {
  it('changes only the named fields and registers', () => {
    const next = applySregsPatch(reset, parseSregs('cs selector=0x8 l=1 db=0\ngdt limit=0x17\ncr3 0x2000'));
    expect(next).toEqual({
      ...reset,
      cs: { ...reset.cs, selector: 8, l: 1, db: 0 },
      gdt: { ...reset.gdt, limit: 0x17 },
      cr3: 0x2000n,
    });
  });

  it('leaves the current state untouched and shares nothing with it', () => {
    const before = structuredClone(reset);
    const next = applySregsPatch(reset, { cs: { l: 1 }, idt: { base: 1n }, interrupt_bitmap: [1n, 2n, 3n, 4n] });
    expect(reset).toEqual(before);
    expect(next.cs).not.toBe(reset.cs);
    expect(next.ds).not.toBe(reset.ds);
    expect(next.gdt).not.toBe(reset.gdt);
    expect(next.interrupt_bitmap).not.toBe(reset.interrupt_bitmap);
  });

  it('does not keep a reference to the patch bitmap', () => {
    const bitmap: Sregs['interrupt_bitmap'] = [1n, 2n, 3n, 4n];
    const next = applySregsPatch(reset, { interrupt_bitmap: bitmap });
    bitmap[0] = 9n;
    expect(next.interrupt_bitmap).toEqual([1n, 2n, 3n, 4n]);
  });

  it('with an empty patch gives an equal copy', () => {
    expect(applySregsPatch(longMode, {})).toEqual(longMode);
  });
});
