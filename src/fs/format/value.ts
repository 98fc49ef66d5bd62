// Files of one number: clock, tss_addr, identity_map_addr. They read
// `name 0x...` and take that line back, or the bare number.
import { FormatError, quote, within } from './errors.js';
import { tokenLines } from './lines.js';
import { hex, parseUint } from './numbers.js';

export function renderValue(name: string, value: bigint | number, bits: number): string {
  return `${name} ${hex(value, bits / 4)}\n`;
}

/** `name value` or `value`, one line, a number of at most `bits` bits. */
export function parseValue(text: string, name: string, bits: number): bigint {
  const lines = tokenLines(text);
  if (lines.length !== 1) throw new FormatError(`expected one line "${name} <value>", got ${lines.length}`);
  const tokens = lines[0]!.tokens;
  const value = tokens.length === 2 && tokens[0] === name ? tokens[1]! : tokens[0]!;
  if (tokens.length > 2 || (tokens.length === 2 && tokens[0] !== name)) {
    throw new FormatError(`expected "${name} <value>" or a number, got ${quote(tokens.join(' '))}`);
  }
  return within(name, () => parseUint(value, bits));
}
