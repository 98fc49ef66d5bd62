import { describe, expect, it } from 'vitest';
import { parseInterrupt } from '../../../../src/fs/format/interrupt.js';
import { formatError } from './format-error.js';

describe('parseInterrupt', () => {
  it.each<[string, number]>([
    ['32', 32],
    ['32\n', 32],
    ['0', 0],
    ['255', 255],
    ['0x20', 32],
    ['0xFF\n', 255],
    [' 0x21 \t\r\n', 0x21],
  ])('accepts %j', (text, vector) => {
    expect(parseInterrupt(text)).toBe(vector);
  });

  it.each<[string, string]>([
    ['256', 'vector 256 out of range 0..255'],
    ['0x100\n', 'vector 0x100 out of range 0..255'],
    ['18446744073709551615', 'vector 18446744073709551615 out of range 0..255'],
    ['18446744073709551616', 'value 18446744073709551616 out of range for 64 bits'],
    ['', 'no vector given'],
    ['\n', 'no vector given'],
    ['-1', 'bad number "-1"'],
    ['1e1', 'bad number "1e1"'],
    ['32 33', 'bad number "32 33"'],
    ['32\0', 'bad number "32\\u0000"'],
  ])('rejects %j', (text, message) => {
    expect(() => parseInterrupt(text)).toThrow(formatError(message));
  });
});
