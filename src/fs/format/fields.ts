// Table-driven parsing for the files whose lines are `name value` or
// `name field=value ...`: the table gives each name's width in bits, and a
// write may name any subset, in any order, each at most once.
import { FormatError, atLine, quote, within } from './errors.js';
import { tokenLines } from './lines.js';
import { hex, parseUint } from './numbers.js';

export type Widths = Readonly<Record<string, number>>;
export type Values<W extends Widths> = { [K in keyof W & string]?: bigint };

/** The one value token after a line's `name`. */
export function oneValue(name: string, rest: string[]): string {
  if (rest.length === 0) throw new FormatError(`missing value for ${name}`);
  if (rest.length > 1) throw new FormatError(`unexpected ${quote(rest[1]!)} after the value of ${name}`);
  return rest[0]!;
}

/** The value of a `name value` line whose name is known; `rest` is what follows the name. */
function parseValue(name: string, rest: string[], bits: number): bigint {
  const value = oneValue(name, rest);
  return within(name, () => parseUint(value, bits));
}

/** Parses `name rest...` into `values` if `name` is in `widths`; false if it is not. */
function parseNamedLine(values: Record<string, bigint>, name: string, rest: string[], widths: Widths, what: string): boolean {
  if (!Object.hasOwn(widths, name)) return false;
  if (values[name] !== undefined) throw new FormatError(`duplicate ${what} ${name}`);
  values[name] = parseValue(name, rest, widths[name]!);
  return true;
}

/**
 * `name value` lines, each name from `widths` (`what` says what a name is,
 * for messages: "register", "field"). Rejects the whole text on the first
 * bad line.
 */
export function parseNameValues<W extends Widths>(text: string, widths: W, what: string): Values<W> {
  const values: Record<string, bigint> = {};
  for (const { line, tokens: [name, ...rest] } of tokenLines(text)) {
    atLine(line, () => {
      if (!parseNamedLine(values, name, rest, widths, what)) throw new FormatError(`unknown ${what} ${quote(name)}`);
    });
  }
  return values as Values<W>;
}

/** The `field=value` tokens of the line of `owner`: at least one, each field from `widths` once. */
export function parseFieldTokens<W extends Widths>(owner: string, tokens: string[], widths: W): Values<W> {
  if (tokens.length === 0) throw new FormatError(`${owner}: no fields given`);
  const values: Record<string, bigint> = {};
  for (const token of tokens) {
    const eq = token.indexOf('=');
    if (eq <= 0) throw new FormatError(`${owner}: expected field=value, got ${quote(token)}`);
    const field = token.slice(0, eq);
    if (!Object.hasOwn(widths, field)) throw new FormatError(`${owner}: unknown field ${quote(field)}`);
    if (values[field] !== undefined) throw new FormatError(`${owner}: duplicate field ${field}`);
    values[field] = within(`${owner} ${field}`, () => parseUint(token.slice(eq + 1), widths[field]!));
  }
  return values as Values<W>;
}

/**
 * Lines of `name field=value ...` for a set of numbered parts (ioapic
 * pins, PIT channels): `prefix<N>` with N below `count`, and plain
 * `name value` lines for the names in `single`. Each line at most once.
 */
export function parsePartLines<F extends Widths, S extends Widths>(
  text: string, part: { prefix: string; count: number; fields: F }, single: S,
): { parts: Map<number, Values<F>>; values: Values<S> } {
  const parts = new Map<number, Values<F>>();
  const values: Record<string, bigint> = {};
  const partName = new RegExp(`^${part.prefix}(0|[1-9][0-9]{0,2})$`);
  for (const { line, tokens: [name, ...rest] } of tokenLines(text)) {
    atLine(line, () => {
      if (parseNamedLine(values, name, rest, single, 'line')) return;
      const match = partName.exec(name);
      if (!match) throw new FormatError(`unknown line ${quote(name)}`);
      const index = Number(match[1]);
      if (index >= part.count) throw new FormatError(`no ${name}: there are ${part.count} (${part.prefix}0..${part.prefix}${part.count - 1})`);
      if (parts.has(index)) throw new FormatError(`duplicate line ${name}`);
      parts.set(index, parseFieldTokens(name, rest, part.fields));
    });
  }
  return { parts, values: values as Values<S> };
}

/** Whether a write holds nothing but whitespace (a no-op, as `echo -n > file` should be). */
export function isBlank(text: string): boolean {
  return text.trim() === '';
}

/**
 * parseFieldTokens for structs whose fields are numbers: a field of more
 * than 32 bits stays a bigint, the narrower ones become numbers.
 */
export function parseFields<F extends string>(owner: string, tokens: string[], bits: Record<F, number>): Partial<Record<F, bigint | number>> {
  const fields: Partial<Record<F, bigint | number>> = {};
  for (const [key, value] of Object.entries(parseFieldTokens(owner, tokens, bits)) as Array<[F, bigint]>) {
    fields[key] = bits[key] > 32 ? value : Number(value);
  }
  return fields;
}

/** [name, width in bits] in file order, for files of fixed `name value` lines (fpu, debugregs). */
export type ValueFields<N extends string> = ReadonlyArray<readonly [N, number]>;

/** Each value in hex, zero-padded to its width, in `fields`' order. */
export function renderValues<N extends string>(fields: ValueFields<N>, values: Record<N, bigint>): string {
  return fields.map(([name, bits]) => `${name} ${hex(values[name], Math.ceil(bits / 4))}\n`).join('');
}

/** parseNameValues over `fields`: any subset in any order; `noun` names a line in messages. */
export function parseValues<N extends string>(fields: ValueFields<N>, text: string, noun = 'register'): Partial<Record<N, bigint>> {
  return parseNameValues(text, Object.fromEntries(fields) as Record<N, number>, noun) as Partial<Record<N, bigint>>;
}
