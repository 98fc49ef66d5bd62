// The vcpu's regs file: struct kvm_regs as eighteen `name 0x...` lines.
import { REG_NAMES, type RegName, type Regs } from '../../backend/types.js';
import { FormatError, atLine, quote, within } from './errors.js';
import { tokenLines } from './lines.js';
import { hex, parseU64 } from './numbers.js';

export function renderRegs(regs: Regs): string {
  return REG_NAMES.map((name) => `${name} ${hex(regs[name], 16)}\n`).join('');
}

function isRegName(name: string): name is RegName {
  return (REG_NAMES as readonly string[]).includes(name);
}

/**
 * The registers a write names, any subset in any order, one `name value` per
 * line. Rejects the whole write on the first bad line.
 */
export function parseRegs(text: string): Partial<Regs> {
  const changes: Partial<Regs> = {};
  for (const { line, tokens } of tokenLines(text)) {
    const [name, ...values] = tokens;
    if (!isRegName(name)) throw new FormatError(`unknown register ${quote(name)}`, line);
    if (changes[name] !== undefined) throw new FormatError(`duplicate register ${name}`, line);
    if (values.length === 0) throw new FormatError(`missing value for ${name}`, line);
    if (values.length > 1) throw new FormatError(`unexpected ${quote(values[1])} after the value of ${name}`, line);
    changes[name] = atLine(line, () => within(name, () => parseU64(values[0])));
  }
  if (Object.keys(changes).length === 0) throw new FormatError('no registers given');
  return changes;
}
