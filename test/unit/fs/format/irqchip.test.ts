import { describe, expect, it } from 'vitest';
import {
  applyIoapicPatch, applyPicPatch, parseIoapic, parseIrq, parseIrqchipMode, parsePic, renderIoapic, renderPic,
} from '../../../../src/fs/format/irqchip.js';
import type { IoapicState, PicState, RedirectionEntry } from '../../../../src/backend/controller-types.js';
import { formatError } from './format-error.js';

describe('parseIrqchipMode', () => {
  it.each([['kernel\n', 'kernel'], [' none ', 'none']] as const)('%j', (text, mode) => {
    expect(parseIrqchipMode(text)).toBe(mode);
  });
  it.each(['userspace', 'kernel kernel', 'KERNEL'])('rejects %j', (text) => {
    expect(() => parseIrqchipMode(text)).toThrow(formatError(`expected "kernel" (or "none"), got ${JSON.stringify(text)}`));
  });
});

describe('parseIrq', () => {
  it.each([
    ['4 1\n', { gsi: 4, level: 1 }],
    ['0x4 0', { gsi: 4, level: 0 }],
    ['23\n', { gsi: 23, level: undefined }],
  ] as const)('%j', (text, irq) => {
    expect(parseIrq(text)).toEqual(irq);
  });
  it.each([
    ['24', 'gsi 24 out of range 0..23 (the lines the irqchip routes)'],
    ['4 2', 'level must be 0 or 1, got "2"'],
    ['4 1 1', 'unexpected "1" after the level'],
    ['x', 'gsi: bad number "x"'],
    ['1\n2', 'expected one line "<gsi> [<level>]", got 2'],
    ['-1', 'gsi: bad number "-1"'],
  ])('rejects %j', (text, message) => {
    expect(() => parseIrq(text)).toThrow(formatError(message));
  });
});

const pic: PicState = {
  irr: 0x01, imr: 0xfe, isr: 0x00, last_irr: 0x01, priority_add: 0, irq_base: 0x20, read_reg_select: 0, poll: 0,
  special_mask: 0, init_state: 0, auto_eoi: 0, rotate_on_auto_eoi: 0, special_fully_nested_mode: 0,
  init4: 1, elcr: 0, elcr_mask: 0xf8,
};
const picText = `\
irr 0x01
imr 0xfe
isr 0x00
last_irr 0x01
priority_add 0x00
irq_base 0x20
read_reg_select 0x00
poll 0x00
special_mask 0x00
init_state 0x00
auto_eoi 0x00
rotate_on_auto_eoi 0x00
special_fully_nested_mode 0x00
init4 0x01
elcr 0x00
elcr_mask 0xf8
`;

describe('pic', () => {
  it('renders irr, imr, isr first, then the struct in order, 0x%02x', () => {
    expect(renderPic(pic)).toBe(picText);
  });
  it('what it renders parses back to the same state', () => {
    expect(applyPicPatch({ ...pic, imr: 0, irq_base: 8 }, parsePic(picText))).toEqual(pic);
  });
  it('a subset changes only what it names', () => {
    expect(applyPicPatch(pic, parsePic('imr 0xff\nirq_base 8\n'))).toEqual({ ...pic, imr: 0xff, irq_base: 8 });
  });
  it.each([
    ['imr 0x100', 'line 1: imr: value 0x100 out of range for 8 bits'],
    ['imr 1\nimr 2', 'line 2: duplicate field imr'],
    ['irq_bse 8', 'line 1: unknown field "irq_bse"'],
    ['imr', 'line 1: missing value for imr'],
    ['imr 1 2', 'line 1: unexpected "2" after the value of imr'],
  ])('rejects %j', (text, message) => {
    expect(() => parsePic(text)).toThrow(formatError(message));
  });
});

const pinEntry = (pin: number): RedirectionEntry => ({
  vector: pin === 3 ? 0x31 : 0, delivery_mode: 0, dest_mode: 0, mask: pin === 3 ? 0 : 1, trig_mode: 0,
  remote_irr: 0, dest_id: 0, delivery_status: 0, polarity: 0,
});
const ioapic: IoapicState = {
  base_address: 0xfec00000n, id: 0, irr: 0x8, ioregsel: 0x17, pins: Array.from({ length: 24 }, (_, pin) => pinEntry(pin)),
};

describe('ioapic', () => {
  const text = renderIoapic(ioapic);

  it('renders base_address, id, irr, one line per pin, then ioregsel', () => {
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(3 + 24 + 1);
    expect(lines.slice(0, 3)).toEqual(['base_address 0x00000000fec00000', 'id 0x00000000', 'irr 0x00000008']);
    expect(lines[3 + 3]).toBe('pin3 vector=0x31 delivery_mode=0 dest_mode=0 mask=0 trig_mode=0 remote_irr=0 dest_id=0x00 delivery_status=0 polarity=0');
    expect(lines[3 + 23]).toBe('pin23 vector=0x00 delivery_mode=0 dest_mode=0 mask=1 trig_mode=0 remote_irr=0 dest_id=0x00 delivery_status=0 polarity=0');
    expect(lines[27]).toBe('ioregsel 0x00000017');
  });

  it('what it renders parses back to the same state', () => {
    const other = { ...ioapic, irr: 0, pins: ioapic.pins.map((e) => ({ ...e, vector: 0x99, mask: 0 })) };
    expect(applyIoapicPatch(other, parseIoapic(text))).toEqual(ioapic);
  });

  it('a pin line changes only the fields it names, other pins stay', () => {
    const next = applyIoapicPatch(ioapic, parseIoapic('pin4 vector=0x32 mask=0\nid 0x1'));
    expect(next.pins[4]).toEqual({ ...pinEntry(4), vector: 0x32, mask: 0 });
    expect(next.pins[3]).toEqual(pinEntry(3));
    expect(next.id).toBe(1);
    expect(ioapic.pins[4]).toEqual(pinEntry(4)); // the current state is not modified
  });

  it.each([
    ['pin24 mask=0', 'line 1: no pin24: there are 24 (pin0..pin23)'],
    ['pin01 mask=0', 'line 1: unknown line "pin01"'],
    ['pin1 mask=2', 'line 1: pin1 mask: value 2 out of range for 1 bit'],
    ['pin1 delivery_mode=8', 'line 1: pin1 delivery_mode: value 8 out of range for 3 bits'],
    ['pin1', 'line 1: pin1: no fields given'],
    ['pin1 mask', 'line 1: pin1: expected field=value, got "mask"'],
    ['pin1 colour=1', 'line 1: pin1: unknown field "colour"'],
    ['pin1 mask=0 mask=1', 'line 1: pin1: duplicate field mask'],
    ['pin1 mask=0\n\npin1 mask=1', 'line 3: duplicate line pin1'],
    ['irr 1\nirr 1', 'line 2: duplicate line irr'],
    ['base 0', 'line 1: unknown line "base"'],
  ])('rejects %j', (text, message) => {
    expect(() => parseIoapic(text)).toThrow(formatError(message));
  });
});
