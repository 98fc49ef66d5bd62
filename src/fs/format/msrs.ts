// The vcpu's msrs file (`0x%08x 0x%016x`: index, value) and the top-level
// msr_index_list (one `0x%08x` index a line).
import type { MsrEntry } from '../../backend/types-state.js';
import { FormatError, atLine, within } from './errors.js';
import { tokenLines } from './lines.js';
import { hex, parseU64, parseUint } from './numbers.js';
import { oneValue } from './fields.js';

export function renderMsrs(entries: MsrEntry[]): string {
  return entries.map(({ index, data }) => `${hex(index, 8)} ${hex(data, 16)}\n`).join('');
}

export function renderMsrIndexList(indices: number[]): string {
  return indices.map((index) => `${hex(index, 8)}\n`).join('');
}

/** The MSRs a write names, in the order written, each at most once. */
export function parseMsrs(text: string): MsrEntry[] {
  const entries: MsrEntry[] = [];
  for (const { line, tokens: [name, ...rest] } of tokenLines(text)) {
    atLine(line, () => {
      const index = Number(within('MSR index', () => parseUint(name, 32)));
      if (entries.some((entry) => entry.index === index)) throw new FormatError(`duplicate MSR ${hex(index, 8)}`);
      const value = oneValue(name, rest);
      entries.push({ index, data: within(`MSR ${hex(index, 8)}`, () => parseU64(value)) });
    });
  }
  return entries;
}
