// The VM's pit file: "none" until a PIT exists, then struct kvm_pit_state2
// as one `ch<N> field=value ...` line per channel and a `flags` line.
import { PIT_CHANNEL_FIELDS, PIT_CHANNELS, type PitChannel, type PitChannelField, type PitState } from '../../backend/controller-types.js';
import { parsePartLines } from './fields.js';
import { hex } from './numbers.js';

const CHANNEL_FIELDS = Object.keys(PIT_CHANNEL_FIELDS) as PitChannelField[];
/**
 * Fields shown in hex, with their digits (count shows 4: a 16-bit divisor,
 * 0x10000 for 0); the rest are states, modes and flags, shown in decimal.
 */
const CHANNEL_HEX: Partial<Record<PitChannelField, number>> = {
  count: 4, latched_count: 4, status: 2, write_latch: 2, count_load_time: 16,
};
const PIT_LINES = { flags: 32 } as const;

/** What a write to pit asks for: the PIT's creation, or a change of its state. */
export type PitWrite =
  | { kind: 'create' }
  | { kind: 'none' }
  | { kind: 'state'; patch: ReturnType<typeof parsePitState> };

function renderChannel(index: number, channel: PitChannel): string {
  const fields = CHANNEL_FIELDS.map((name) => {
    const digits = CHANNEL_HEX[name];
    return `${name}=${digits === undefined ? channel[name] : hex(channel[name], digits)}`;
  });
  return `ch${index} ${fields.join(' ')}\n`;
}

/** The PIT's state, or "none" while the VM has none. */
export function renderPit(pit: PitState | undefined): string {
  if (!pit) return 'none\n';
  return [...pit.channels.map((channel, i) => renderChannel(i, channel)), `flags ${hex(pit.flags, 8)}\n`].join('');
}

function parsePitState(text: string) {
  return parsePartLines(text, { prefix: 'ch', count: PIT_CHANNELS, fields: PIT_CHANNEL_FIELDS }, PIT_LINES);
}

export function parsePit(text: string): PitWrite {
  const word = text.trim();
  if (word === 'create' || word === 'none') return { kind: word };
  return { kind: 'state', patch: parsePitState(text) };
}

export function applyPitPatch(current: PitState, patch: ReturnType<typeof parsePitState>): PitState {
  return {
    flags: Number(patch.values.flags ?? current.flags),
    channels: current.channels.map((channel, i) => {
      const next = { ...channel };
      const fields = patch.parts.get(i) ?? {};
      for (const name of CHANNEL_FIELDS) {
        const value = fields[name];
        if (value === undefined) continue;
        if (name === 'count_load_time') next.count_load_time = value;
        else next[name] = Number(value);
      }
      return next;
    }),
  };
}
