import { describe, expect, it } from 'vitest';
import { parseLapic, renderLapic } from '../../../../src/fs/format/lapic.js';
import { LAPIC_REGISTERS, type LapicState } from '../../../../src/backend/controller-types.js';
import { formatError } from './format-error.js';

const NAMES = Object.keys(LAPIC_REGISTERS);
const lapic = Object.fromEntries(NAMES.map((name) => [name, 0n])) as LapicState;
Object.assign(lapic, { svr: 0x1ffn, lvt_lint0: 0x700n, irr: 1n << 49n, icr: 0x01000000000040ffn, version: 0x50014n });

describe('lapic', () => {
  const lines = renderLapic(lapic).trimEnd().split('\n');

  it('one line per register, in the contract\'s order', () => {
    expect(lines.map((line) => line.split(' ')[0])).toEqual([
      'id', 'version', 'tpr', 'apr', 'ppr', 'ldr', 'dfr', 'svr', 'isr', 'tmr', 'irr', 'esr', 'icr',
      'lvt_timer', 'lvt_thermal', 'lvt_perf', 'lvt_lint0', 'lvt_lint1', 'lvt_error', 'timer_initial', 'timer_current', 'timer_divide',
    ]);
  });

  it.each([
    ['svr', 'svr 0x000001ff'],
    ['version', 'version 0x00050014'],
    ['irr', `irr 0x${'0'.repeat(51)}2${'0'.repeat(12)}`],
    ['isr', `isr 0x${'0'.repeat(64)}`],
    ['icr', 'icr 0x01000000000040ff'],
  ])('%s is padded to its width', (_name, line) => {
    expect(lines).toContain(line);
  });

  it('what it renders parses back to every register', () => {
    expect(parseLapic(renderLapic(lapic))).toEqual(lapic);
  });

  it('a write names any subset, hex or decimal', () => {
    expect(parseLapic('tpr 64\nirr 0x1\n')).toEqual({ tpr: 64n, irr: 1n });
  });

  it.each([
    ['tpr 0x100000000', 'line 1: tpr: value 0x100000000 out of range for 32 bits'],
    [`irr 0x1${'0'.repeat(64)}`, `line 1: irr: value 0x1${'0'.repeat(37)}... out of range for 256 bits`],
    ['eoi 0', 'line 1: unknown register "eoi"'],
  ])('rejects %j', (text, message) => {
    expect(() => parseLapic(text)).toThrow(formatError(message));
  });
});
