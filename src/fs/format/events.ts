// The vcpu's events file (struct kvm_vcpu_events) and mp_state file.
import { MP_STATE_NAMES, type VcpuEvents } from '../../backend/types-state.js';
import { FormatError, atLine, quote, within } from './errors.js';
import { oneValue, parseFields } from './fields.js';
import { tokenLines } from './lines.js';
import { hex, parseUint } from './numbers.js';

type Group = 'exception' | 'interrupt' | 'nmi' | 'smi';
/** Each group's fields in file order: width in bits, and hex digits (0: a decimal flag or count). */
const GROUPS: { [G in Group]: Array<[keyof VcpuEvents[G] & string, number, number]> } = {
  exception: [['injected', 1, 0], ['pending', 1, 0], ['nr', 8, 2], ['has_error_code', 1, 0], ['error_code', 32, 8]],
  interrupt: [['injected', 1, 0], ['nr', 8, 2], ['soft', 1, 0], ['shadow', 8, 2]],
  // KVM counts pending NMIs (up to 2)
  nmi: [['injected', 1, 0], ['pending', 8, 0], ['masked', 1, 0]],
  smi: [['smm', 1, 0], ['pending', 1, 0], ['smm_inside_nmi', 1, 0], ['latched_init', 1, 0]],
};
const GROUP_NAMES = Object.keys(GROUPS) as Group[];

/** What one write changes: the groups' fields it names, and sipi_vector. */
export type EventsPatch = { [G in Group]?: Partial<VcpuEvents[G]> } & { sipi_vector?: number };

function renderGroup<G extends Group>(events: VcpuEvents, group: G): string {
  const values = events[group] as Record<string, number>;
  const fields = GROUPS[group].map(([field, , digits]) => `${field}=${digits === 0 ? values[field] : hex(values[field]!, digits)}`);
  return `${group} ${fields.join(' ')}\n`;
}

export function renderEvents(events: VcpuEvents): string {
  return [
    renderGroup(events, 'exception'), renderGroup(events, 'interrupt'), renderGroup(events, 'nmi'),
    `sipi_vector ${hex(events.sipi_vector, 8)}\n`,
    renderGroup(events, 'smi'),
  ].join('');
}

export function parseEvents(text: string): EventsPatch {
  const patch: EventsPatch = {};
  const seen = new Set<string>();
  for (const { line, tokens: [name, ...rest] } of tokenLines(text)) {
    atLine(line, () => {
      if (seen.has(name)) throw new FormatError(`duplicate line ${name}`);
      if (name === 'sipi_vector') {
        const value = oneValue(name, rest);
        patch.sipi_vector = Number(within(name, () => parseUint(value, 32)));
      } else if ((GROUP_NAMES as string[]).includes(name)) {
        const bits = Object.fromEntries(GROUPS[name as Group].map(([field, width]) => [field, width]));
        (patch as Record<string, unknown>)[name] = parseFields(name, rest, bits);
      } else {
        throw new FormatError(`unknown line ${quote(name)}`);
      }
      seen.add(name);
    });
  }
  return patch;
}

/** `current` with `patch` applied, as a new object. */
export function applyEvents(current: VcpuEvents, patch: EventsPatch): VcpuEvents {
  const next = structuredClone(current);
  for (const group of GROUP_NAMES) Object.assign(next[group], patch[group]);
  next.sipi_vector = patch.sipi_vector ?? next.sipi_vector;
  return next;
}

export function renderMpState(state: number): string {
  return `${MP_STATE_NAMES[state] ?? hex(state, 8)}\n`;
}

/** One KVM_MP_STATE_* name (or a number, for states without one). */
export function parseMpState(text: string): number {
  const tokens = text.trim().split(/\s+/);
  if (tokens.length !== 1) throw new FormatError(`expected one state, got ${quote(text.trim())}`);
  const [word] = tokens as [string];
  const named = (MP_STATE_NAMES as readonly string[]).indexOf(word);
  if (named >= 0) return named;
  if (/^[0-9]/.test(word)) return Number(within('mp_state', () => parseUint(word, 32)));
  throw new FormatError(`unknown state ${quote(word)} (one of ${MP_STATE_NAMES.join(' ')})`);
}
