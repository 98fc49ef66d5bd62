// The vcpu's regs file: struct kvm_regs as eighteen `name 0x...` lines.
import { REG_NAMES, type RegName, type Regs } from '../../backend/types.js';
import { FormatError } from './errors.js';
import { parseNameValues } from './fields.js';
import { hex } from './numbers.js';

export function renderRegs(regs: Regs): string {
  return REG_NAMES.map((name) => `${name} ${hex(regs[name], 16)}\n`).join('');
}

/** Every register is 64-bit. */
const REG_WIDTHS = Object.fromEntries(REG_NAMES.map((name) => [name, 64])) as Record<RegName, number>;

/**
 * The registers a write names, any subset in any order, one `name value` per
 * line. Rejects the whole write on the first bad line.
 */
export function parseRegs(text: string): Partial<Regs> {
  const changes = parseNameValues(text, REG_WIDTHS, 'register');
  if (Object.keys(changes).length === 0) throw new FormatError('no registers given');
  return changes;
}
