// `name field=value ...` lines (sregs segments, events): the parser of one
// line's fields, checked against each field's width in bits.
import { FormatError, quote, within } from './errors.js';
import { parseUint } from './numbers.js';

/**
 * `field=value` tokens of the line for `owner`, checked against the fields'
 * widths. A field of more than 32 bits stays a bigint, the narrower ones
 * become numbers.
 */
export function parseFields<F extends string>(owner: string, tokens: string[], bits: Record<F, number>): Partial<Record<F, bigint | number>> {
  if (tokens.length === 0) throw new FormatError(`${owner}: no fields given`);
  const fields: Partial<Record<F, bigint | number>> = {};
  for (const token of tokens) {
    const eq = token.indexOf('=');
    if (eq <= 0) throw new FormatError(`${owner}: expected field=value, got ${quote(token)}`);
    const key = token.slice(0, eq);
    if (!Object.hasOwn(bits, key)) throw new FormatError(`${owner}: unknown field ${quote(key)}`);
    const field = key as F;
    if (fields[field] !== undefined) throw new FormatError(`${owner}: duplicate field ${key}`);
    const value = within(`${owner} ${key}`, () => parseUint(token.slice(eq + 1), bits[field]));
    fields[field] = bits[field] > 32 ? value : Number(value);
  }
  return fields;
}
