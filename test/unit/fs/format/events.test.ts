import { describe, expect, it } from 'vitest';
import type { VcpuEvents } from '../../../../src/backend/types-state.js';
import { applyEvents, parseEvents, parseMpState, renderEvents, renderMpState } from '../../../../src/fs/format/events.js';
import { formatError } from './format-error.js';

const none: VcpuEvents = {
  exception: { injected: 0, pending: 0, nr: 0, has_error_code: 0, error_code: 0 },
  interrupt: { injected: 0, nr: 0, soft: 0, shadow: 0 },
  nmi: { injected: 0, pending: 0, masked: 0 },
  sipi_vector: 0,
  smi: { smm: 0, pending: 0, smm_inside_nmi: 0, latched_init: 0 },
  flags: 0xd,
};

describe('events', () => {
  it('renders the contract\'s five lines', () => {
    expect(renderEvents(none)).toBe([
      'exception injected=0 pending=0 nr=0x00 has_error_code=0 error_code=0x00000000',
      'interrupt injected=0 nr=0x00 soft=0 shadow=0x00',
      'nmi injected=0 pending=0 masked=0',
      'sipi_vector 0x00000000',
      'smi smm=0 pending=0 smm_inside_nmi=0 latched_init=0',
      '',
    ].join('\n'));
  });

  it('a read-back changes nothing', () => {
    const busy = { ...none, exception: { injected: 1, pending: 0, nr: 13, has_error_code: 1, error_code: 0x10 }, nmi: { injected: 0, pending: 2, masked: 1 } };
    expect(applyEvents(busy, parseEvents(renderEvents(busy)))).toEqual(busy);
  });

  it.each<[string, string, VcpuEvents]>([
    ['one field of one line', 'nmi pending=1', { ...none, nmi: { injected: 0, pending: 1, masked: 0 } }],
    ['an exception with its error code', 'exception injected=1 nr=0xd has_error_code=1 error_code=0', { ...none, exception: { injected: 1, pending: 0, nr: 13, has_error_code: 1, error_code: 0 } }],
    ['sipi_vector', 'sipi_vector 0x9a', { ...none, sipi_vector: 0x9a }],
  ])('applies %s', (_, text, want) => {
    expect(applyEvents(none, parseEvents(text))).toEqual(want);
  });

  it.each<[string, string, string]>([
    ['an unknown line', 'irq injected=1', 'line 1: unknown line "irq"'],
    ['an unknown field', 'nmi blocked=1', 'line 1: nmi: unknown field "blocked"'],
    ['a flag of 2', 'exception injected=2', 'line 1: exception injected: value 2 out of range for 1 bit'],
    ['a vector over 255', 'interrupt nr=0x100', 'line 1: interrupt nr: value 0x100 out of range for 8 bits'],
    ['a duplicate line', 'nmi masked=1\nnmi masked=0', 'line 2: duplicate line nmi'],
    ['sipi_vector without a value', 'sipi_vector', 'line 1: missing value for sipi_vector'],
    ['a line with no fields', 'smi', 'line 1: smi: no fields given'],
  ])('rejects %s', (_, text, message) => {
    expect(() => parseEvents(text)).toThrow(formatError(message));
  });
});

describe('mp_state', () => {
  it.each<[number, string]>([[0, 'runnable\n'], [3, 'halted\n'], [10, 'suspended\n'], [42, '0x0000002a\n']])('renders %i as %j', (state, text) => {
    expect(renderMpState(state)).toBe(text);
  });

  it.each<[string, number]>([['halted\n', 3], ['  runnable ', 0], ['ap_reset_hold', 9], ['0x0000002a', 42]])('parses %j', (text, state) => {
    expect(parseMpState(text)).toBe(state);
  });

  it.each<[string, string]>([
    ['HALTED', 'unknown state "HALTED" (one of runnable uninitialized init_received halted sipi_received stopped check_stop operating load ap_reset_hold suspended)'],
    ['halted runnable', 'expected one state, got "halted runnable"'],
    ['0x100000000', 'mp_state: value 0x100000000 out of range for 32 bits'],
  ])('rejects %j', (text, message) => {
    expect(() => parseMpState(text)).toThrow(formatError(message));
  });
});
