import { describe, expect, it } from 'vitest';
import { parseSize } from '../../../src/cli/size.js';

describe('parseSize', () => {
  it.each([
    ['1048576', 1048576],
    ['4K', 4096],
    ['512M', 512 * 1024 ** 2],
    ['8G', 8 * 1024 ** 3],
    ['1T', 1024 ** 4],
    ['64m', 64 * 1024 ** 2],
    ['2GiB', 2 * 1024 ** 3],
    [' 1M ', 1024 ** 2],
  ])('%j is %i bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'M', '1.5G', '-1M', '1P', '1 M', 'lots'])('%j is refused', (text) => {
    expect(() => parseSize(text)).toThrow(/bad size/);
  });
});
