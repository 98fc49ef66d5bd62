// The vcpu's xcrs file: one `xcr<N> 0x%016x` line per XCR KVM_GET_XCRS returns.
import type { Xcr } from '../../backend/types-state.js';
import { FormatError, atLine, quote, within } from './errors.js';
import { tokenLines } from './lines.js';
import { hex, parseU64 } from './numbers.js';
import { oneValue } from './fields.js';

const XCR_NAME = /^xcr(0|[1-9][0-9]{0,9})$/;

export function renderXcrs(xcrs: Xcr[]): string {
  return xcrs.map(({ xcr, value }) => `xcr${xcr} ${hex(value, 16)}\n`).join('');
}

/** The XCRs a write names (any subset of the file's lines), as number -> value. */
export function parseXcrs(text: string): Map<number, bigint> {
  const changes = new Map<number, bigint>();
  for (const { line, tokens: [name, ...rest] } of tokenLines(text)) {
    atLine(line, () => {
      const match = XCR_NAME.exec(name);
      if (!match || Number(match[1]) > 0xffffffff) throw new FormatError(`unknown register ${quote(name)}`);
      const xcr = Number(match[1]);
      if (changes.has(xcr)) throw new FormatError(`duplicate register ${name}`);
      const value = oneValue(name, rest);
      changes.set(xcr, within(name, () => parseU64(value)));
    });
  }
  return changes;
}

/** `current` with `changes` applied; an XCR KVM did not list is refused (KVM_SET_XCRS sets the listed ones only). */
export function applyXcrs(current: Xcr[], changes: Map<number, bigint>): Xcr[] {
  for (const xcr of changes.keys()) {
    if (!current.some((known) => known.xcr === xcr)) {
      throw new FormatError(`unknown register xcr${xcr} (KVM has ${current.map((known) => `xcr${known.xcr}`).join(', ') || 'none'})`);
    }
  }
  return current.map(({ xcr, value }) => ({ xcr, value: changes.get(xcr) ?? value }));
}
