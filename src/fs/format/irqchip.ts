// The VM's in-kernel irqchip files: irqchip (none | kernel), irq (a line's
// level, or a pulse), pic_master and pic_slave (struct kvm_pic_state as
// `name 0x..` lines) and ioapic (`name 0x..` lines and one line per pin).
import {
  IOAPIC_PINS, PIC_FIELDS, REDIRECTION_FIELDS,
  type IoapicState, type PicState, type RedirectionEntry, type RedirectionField,
} from '../../backend/controller-types.js';
import { FormatError, quote, within } from './errors.js';
import { parseNameValues, parsePartLines, type Values } from './fields.js';
import { tokenLines } from './lines.js';
import { hex, parseUint } from './numbers.js';

export type IrqchipMode = 'none' | 'kernel';

export function parseIrqchipMode(text: string): IrqchipMode {
  const word = text.trim();
  if (word === 'none' || word === 'kernel') return word;
  throw new FormatError(`expected "kernel" (or "none"), got ${quote(word)}`);
}

/** A write to irq: a level for the line, or none for a pulse (1, then 0). */
export interface IrqLevel {
  gsi: number;
  level: 0 | 1 | undefined;
}

export function parseIrq(text: string): IrqLevel {
  const lines = tokenLines(text);
  if (lines.length !== 1) throw new FormatError(`expected one line "<gsi> [<level>]", got ${lines.length}`);
  const { tokens } = lines[0]!;
  if (tokens.length > 2) throw new FormatError(`unexpected ${quote(tokens[2]!)} after the level`);
  const gsi = Number(within('gsi', () => parseUint(tokens[0]!, 32)));
  if (gsi >= IOAPIC_PINS) throw new FormatError(`gsi ${gsi} out of range 0..${IOAPIC_PINS - 1} (the lines the irqchip routes)`);
  if (tokens[1] === undefined) return { gsi, level: undefined };
  if (tokens[1] !== '0' && tokens[1] !== '1') throw new FormatError(`level must be 0 or 1, got ${quote(tokens[1])}`);
  return { gsi, level: tokens[1] === '1' ? 1 : 0 };
}

const PIC_NAMES = Object.keys(PIC_FIELDS) as Array<keyof PicState>;

export function renderPic(pic: PicState): string {
  return PIC_NAMES.map((name) => `${name} ${hex(pic[name], 2)}\n`).join('');
}

export function parsePic(text: string): Values<typeof PIC_FIELDS> {
  return parseNameValues(text, PIC_FIELDS, 'field');
}

export function applyPicPatch(current: PicState, patch: Values<typeof PIC_FIELDS>): PicState {
  const next = { ...current };
  for (const name of PIC_NAMES) if (patch[name] !== undefined) next[name] = Number(patch[name]);
  return next;
}

const IOAPIC_LINES = { base_address: 64, id: 32, irr: 32, ioregsel: 32 } as const;
const REDIRECTION_NAMES = Object.keys(REDIRECTION_FIELDS) as RedirectionField[];
/** Fields shown in hex (the rest are small enumerations or flags, shown in decimal). */
const REDIRECTION_HEX: Partial<Record<RedirectionField, number>> = { vector: 2, dest_id: 2 };

function renderPin(pin: number, entry: RedirectionEntry): string {
  const fields = REDIRECTION_NAMES.map((name) => {
    const digits = REDIRECTION_HEX[name];
    return `${name}=${digits === undefined ? entry[name] : hex(entry[name], digits)}`;
  });
  return `pin${pin} ${fields.join(' ')}\n`;
}

export function renderIoapic(ioapic: IoapicState): string {
  return [
    `base_address ${hex(ioapic.base_address, 16)}\n`,
    `id ${hex(ioapic.id, 8)}\n`,
    `irr ${hex(ioapic.irr, 8)}\n`,
    ...ioapic.pins.map((entry, pin) => renderPin(pin, entry)),
    `ioregsel ${hex(ioapic.ioregsel, 8)}\n`,
  ].join('');
}

export type IoapicPatch = ReturnType<typeof parseIoapic>;

export function parseIoapic(text: string) {
  return parsePartLines(text, { prefix: 'pin', count: IOAPIC_PINS, fields: REDIRECTION_FIELDS }, IOAPIC_LINES);
}

export function applyIoapicPatch(current: IoapicState, patch: IoapicPatch): IoapicState {
  const { values, parts } = patch;
  return {
    base_address: values.base_address ?? current.base_address,
    id: Number(values.id ?? current.id),
    irr: Number(values.irr ?? current.irr),
    ioregsel: Number(values.ioregsel ?? current.ioregsel),
    pins: current.pins.map((entry, pin) => {
      const fields = parts.get(pin);
      if (!fields) return { ...entry };
      const next = { ...entry };
      for (const name of REDIRECTION_NAMES) if (fields[name] !== undefined) next[name] = Number(fields[name]);
      return next;
    }),
  };
}
