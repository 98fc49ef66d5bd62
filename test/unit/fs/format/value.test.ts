import { describe, expect, it } from 'vitest';
import { parseValue, renderValue } from '../../../../src/fs/format/value.js';
import { renderStats } from '../../../../src/fs/format/stats.js';
import { isBlank } from '../../../../src/fs/format/fields.js';
import { formatError } from './format-error.js';

describe('one-number files', () => {
  it('render `name 0x...` padded to the width', () => {
    expect(renderValue('clock', 0x12345n, 64)).toBe('clock 0x0000000000012345\n');
    expect(renderValue('tss_addr', 0xfffbd000, 64)).toBe('tss_addr 0x00000000fffbd000\n');
  });
  it.each([
    ['clock 0x0000000000012345\n', 0x12345n],
    ['74565', 74565n],
    ['  0x10  \n', 0x10n],
  ])('take back %j', (text, value) => {
    expect(parseValue(text, 'clock', 64)).toBe(value);
  });
  it.each([
    ['tss 0x1000', 'expected "tss_addr <value>" or a number, got "tss 0x1000"'],
    ['tss_addr 1 2', 'expected "tss_addr <value>" or a number, got "tss_addr 1 2"'],
    ['0x100000000', 'tss_addr: value 0x100000000 out of range for 32 bits'],
    ['1\n2', 'expected one line "tss_addr <value>", got 2'],
    ['tss_addr', 'tss_addr: bad number "tss_addr"'],
  ])('rejects %j', (text, message) => {
    expect(() => parseValue(text, 'tss_addr', 32)).toThrow(formatError(message));
  });
});

describe('stats', () => {
  it('one line per stat: its name and each value, 0x%016x', () => {
    expect(renderStats([{ name: 'io_exits', values: [7n] }, { name: 'halt_hist', values: [1n, 0n] }])).toBe(
      'io_exits 0x0000000000000007\nhalt_hist 0x0000000000000001 0x0000000000000000\n');
  });
});

describe('isBlank', () => {
  it.each([['', true], [' \n\t', true], ['0', false]] as const)('%j', (text, blank) => {
    expect(isBlank(text)).toBe(blank);
  });
});
