// The vcpu's cpuid file and the top-level supported_cpuid: struct
// kvm_cpuid_entry2 in the layout of the `cpuid -r` tool, KVM's flags last:
// `0x00000000 0x00: eax=0x0000000d ebx=0x756e6547 ecx=0x6c65746e edx=0x49656e69 flags=0x0`
import { CPUID_REGISTERS, type CpuidEntry } from '../../backend/types-state.js';
import { MAX_CPUID_ENTRIES } from '../../backend/kvm/abi-state.js';
import { FormatError, atLine, within } from './errors.js';
import { parseFields } from './fields.js';
import { tokenLines } from './lines.js';
import { hex, parseUint } from './numbers.js';

/** KVM_CPUID_FLAG_SIGNIFCANT_INDEX: the subleaf selects the entry */
const SIGNIFICANT_INDEX = 1;
const FIELD_BITS = { eax: 32, ebx: 32, ecx: 32, edx: 32, flags: 32 } as const;
type CpuidField = keyof typeof FIELD_BITS;

/** One line of a write: the leaf and subleaf it names, and the fields it gives. */
export interface CpuidChange {
  function: number;
  index: number;
  fields: Partial<Record<CpuidField, number>>;
}

function renderEntry(entry: CpuidEntry): string {
  const registers = CPUID_REGISTERS.map((reg) => `${reg}=${hex(entry[reg], 8)}`).join(' ');
  return `${hex(entry.function, 8)} ${hex(entry.index, 2)}: ${registers} flags=${hex(entry.flags, 1)}\n`;
}

export function renderCpuid(entries: CpuidEntry[]): string {
  return entries.map(renderEntry).join('');
}

/** `leaf subleaf:` (the colon may stand apart), then the fields. */
function parseLine(tokens: string[]): CpuidChange {
  const [leaf, subleafToken = '', ...rest] = tokens;
  let subleaf = subleafToken;
  if (subleaf.endsWith(':')) subleaf = subleaf.slice(0, -1);
  else if (rest[0] === ':') rest.shift();
  else throw new FormatError(subleaf === '' ? 'expected "<leaf> <subleaf>: eax=... ebx=... ecx=... edx=..."' : 'expected ":" after the subleaf');
  const change = {
    function: Number(within('leaf', () => parseUint(leaf, 32))),
    index: Number(within('subleaf', () => parseUint(subleaf, 32))),
  };
  const name = `leaf ${hex(change.function, 8)} ${hex(change.index, 2)}`;
  return { ...change, fields: parseFields(name, rest, FIELD_BITS) as Partial<Record<CpuidField, number>> };
}

/** The leaves a write names, each at most once. */
export function parseCpuid(text: string): CpuidChange[] {
  const changes: CpuidChange[] = [];
  for (const { line, tokens } of tokenLines(text)) {
    atLine(line, () => {
      const change = parseLine(tokens);
      if (changes.some((c) => c.function === change.function && c.index === change.index)) {
        throw new FormatError(`duplicate leaf ${hex(change.function, 8)} ${hex(change.index, 2)}`);
      }
      changes.push(change);
    });
  }
  return changes;
}

/**
 * `table` with the changed leaves' fields replaced and new leaves added, in
 * leaf order. A new leaf's registers not given are 0; its flags, if not
 * given, are those of the table's other subleaves of that leaf, or say the
 * subleaf matters when it is not 0.
 */
export function applyCpuid(table: CpuidEntry[], changes: CpuidChange[]): CpuidEntry[] {
  const next = table.map((entry) => ({ ...entry }));
  for (const change of changes) {
    const existing = next.find((entry) => entry.function === change.function && entry.index === change.index);
    if (existing) {
      Object.assign(existing, change.fields);
      continue;
    }
    const sibling = next.find((entry) => entry.function === change.function);
    const flags = sibling?.flags ?? (change.index !== 0 ? SIGNIFICANT_INDEX : 0);
    next.push({ function: change.function, index: change.index, flags, eax: 0, ebx: 0, ecx: 0, edx: 0, ...change.fields });
  }
  if (next.length > MAX_CPUID_ENTRIES) throw new FormatError(`${next.length} leaves: KVM takes at most ${MAX_CPUID_ENTRIES}`);
  return next.sort((a, b) => a.function - b.function || a.index - b.index);
}
