// console_ports: a set of io ports, one `0x%04x` a line. A write names the
// whole new set (ports one a line or separated by spaces, hex or decimal),
// or `none` for no ports.
import { atLine, FormatError } from './errors.js';
import { tokenLines } from './lines.js';
import { hex, parseUint } from './numbers.js';

/** The word that clears the set (an empty write changes nothing, like every empty write). */
export const NO_PORTS = 'none';

/** The new set a write names, ascending; undefined for a blank write (no change). */
export function parsePorts(text: string): number[] | undefined {
  const lines = tokenLines(text);
  if (lines.length === 0) return undefined;
  const words = lines.flatMap(({ line, tokens }) => tokens.map((token) => ({ line, token })));
  if (words.some(({ token }) => token === NO_PORTS)) {
    if (words.length > 1) throw new FormatError(`${JSON.stringify(NO_PORTS)} must be the only word of the write`, words.find(({ token }) => token !== NO_PORTS)!.line);
    return [];
  }
  const ports = new Set(words.map(({ line, token }) => atLine(line, () => Number(parseUint(token, 16)))));
  return [...ports].sort((a, b) => a - b);
}

export function renderPorts(ports: number[]): string {
  return ports.map((port) => `${hex(port, 4)}\n`).join('');
}
