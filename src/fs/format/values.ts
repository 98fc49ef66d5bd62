// Files of fixed `name value` lines with a width per name (fpu, debugregs):
// each value in hex zero-padded to its width; a write names any subset.
import { FormatError, atLine, quote, within } from './errors.js';
import { tokenLines } from './lines.js';
import { hex, parseUint } from './numbers.js';

/** [name, width in bits] in file order */
export type ValueFields<N extends string> = ReadonlyArray<readonly [N, number]>;

export function renderValues<N extends string>(fields: ValueFields<N>, values: Record<N, bigint>): string {
  return fields.map(([name, bits]) => `${name} ${hex(values[name], Math.ceil(bits / 4))}\n`).join('');
}

/**
 * The values a write names, any subset in any order, one `name value` per
 * line; `noun` names what a line is in messages ("register").
 */
export function parseValues<N extends string>(fields: ValueFields<N>, text: string, noun = 'register'): Partial<Record<N, bigint>> {
  const widths = new Map<string, number>(fields);
  const changes: Partial<Record<N, bigint>> = {};
  for (const { line, tokens: [name, ...rest] } of tokenLines(text)) {
    atLine(line, () => {
      const bits = widths.get(name);
      if (bits === undefined) throw new FormatError(`unknown ${noun} ${quote(name)}`);
      if (changes[name as N] !== undefined) throw new FormatError(`duplicate ${noun} ${name}`);
      const value = oneValue(name, rest);
      changes[name as N] = within(name, () => parseUint(value, bits));
    });
  }
  return changes;
}

/** The one value token after a line's `name`. */
export function oneValue(name: string, rest: string[]): string {
  if (rest.length === 0) throw new FormatError(`missing value for ${name}`);
  if (rest.length > 1) throw new FormatError(`unexpected ${quote(rest[1]!)} after the value of ${name}`);
  return rest[0]!;
}
