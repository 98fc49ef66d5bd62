import { describe, expect, it } from 'vitest';
import { applyPitPatch, parsePit, renderPit } from '../../../../src/fs/format/pit.js';
import type { PitChannel, PitState } from '../../../../src/backend/controller-types.js';
import { formatError } from './format-error.js';

const channel = (count: number, mode: number): PitChannel => ({
  count, mode, gate: 1, latched_count: 0, count_latched: 0, status_latched: 0, status: 0, read_state: 3,
  write_state: 3, write_latch: count & 0xff, rw_mode: 3, bcd: 0, count_load_time: 0x0000001234567890n,
});
const pit: PitState = { channels: [channel(11932, 2), channel(0x10000, 0), channel(0x10000, 0)], flags: 0 };
const pitText = `\
ch0 count=0x2e9c mode=2 gate=1 latched_count=0x0000 count_latched=0 status_latched=0 status=0x00 read_state=3 write_state=3 write_latch=0x9c rw_mode=3 bcd=0 count_load_time=0x0000001234567890
ch1 count=0x10000 mode=0 gate=1 latched_count=0x0000 count_latched=0 status_latched=0 status=0x00 read_state=3 write_state=3 write_latch=0x00 rw_mode=3 bcd=0 count_load_time=0x0000001234567890
ch2 count=0x10000 mode=0 gate=1 latched_count=0x0000 count_latched=0 status_latched=0 status=0x00 read_state=3 write_state=3 write_latch=0x00 rw_mode=3 bcd=0 count_load_time=0x0000001234567890
flags 0x00000000
`;

describe('pit', () => {
  it('renders "none" without a PIT', () => {
    expect(renderPit(undefined)).toBe('none\n');
  });
  it('renders one line per channel (count, mode, gate first), then flags', () => {
    expect(renderPit(pit)).toBe(pitText);
  });
  it.each([['create\n', 'create'], [' none', 'none']] as const)('%j is a request of its own', (text, kind) => {
    expect(parsePit(text)).toEqual({ kind });
  });
  it('what it renders parses back to the same state', () => {
    const write = parsePit(pitText);
    if (write.kind !== 'state') throw new Error(write.kind);
    const other = { flags: 1, channels: pit.channels.map((c) => ({ ...c, count: 1, count_load_time: 0n })) };
    expect(applyPitPatch(other, write.patch)).toEqual(pit);
  });
  it('a channel line changes only the fields it names', () => {
    const write = parsePit('ch0 mode=0 count=0xffff\n');
    if (write.kind !== 'state') throw new Error(write.kind);
    const next = applyPitPatch(pit, write.patch);
    expect(next.channels[0]).toEqual({ ...channel(11932, 2), mode: 0, count: 0xffff });
    expect(next.channels.slice(1)).toEqual(pit.channels.slice(1));
  });
  it.each([
    ['ch3 mode=0', 'line 1: no ch3: there are 3 (ch0..ch2)'],
    ['ch0 mode=256', 'line 1: ch0 mode: value 256 out of range for 8 bits'],
    ['ch0 count_load_time=0x10000000000000000', 'line 1: ch0 count_load_time: value 0x10000000000000000 out of range for 64 bits'],
    ['flags 1 2', 'line 1: unexpected "2" after the value of flags'],
    ['create now', 'line 1: unknown line "create"'],
  ])('rejects %j', (text, message) => {
    expect(() => parsePit(text)).toThrow(formatError(message));
  });
});
