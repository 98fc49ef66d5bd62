// A vcpu's lapic file: the local APIC's registers, one `name 0x..` line
// each, padded to the register's width (isr, tmr, irr: 256 bits; icr: 64).
import { LAPIC_REGISTERS, type LapicRegister, type LapicState } from '../../backend/controller-types.js';
import { parseNameValues } from './fields.js';
import { hex } from './numbers.js';

const NAMES = Object.keys(LAPIC_REGISTERS) as LapicRegister[];
const WIDTHS = Object.fromEntries(NAMES.map((name) => [name, LAPIC_REGISTERS[name].bits])) as Record<LapicRegister, number>;

export function renderLapic(lapic: LapicState): string {
  return NAMES.map((name) => `${name} ${hex(lapic[name], WIDTHS[name] / 4)}\n`).join('');
}

/** The registers a write names; the others keep their value. */
export function parseLapic(text: string): Partial<LapicState> {
  return parseNameValues(text, WIDTHS, 'register');
}
