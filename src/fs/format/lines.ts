// Splits a write to a `name value...` file into lines of tokens, the common
// first step of the regs and sregs parsers.
import { FormatError } from './errors.js';
import { hex } from './numbers.js';

export interface TokenLine {
  /** 1-based line number in the written text, for messages. */
  line: number;
  /** The line's words; never empty. */
  tokens: string[];
}

/** Any control character but tab (newlines are split off, a line-ending `\r` stripped first). */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

/**
 * Lines of whitespace-separated (spaces, tabs) tokens. A final newline is
 * optional, a `\r` before a newline is tolerated (CRLF files), blank lines are
 * skipped, and any other control character, NUL included, is rejected.
 */
export function tokenLines(text: string): TokenLine[] {
  const result: TokenLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const content = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const control = CONTROL.exec(content);
    if (control) throw new FormatError(`control character ${hex(control[0].charCodeAt(0), 2)} not allowed`, line);
    const tokens = content.split(/[ \t]+/).filter((token) => token !== '');
    if (tokens.length > 0) result.push({ line, tokens });
  });
  return result;
}
