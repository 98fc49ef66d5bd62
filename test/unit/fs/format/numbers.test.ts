import { describe, expect, it } from 'vitest';
import { FormatError, atLine, quote, within } from '../../../../src/fs/format/errors.js';
import { hex, parseU64, parseUint } from '../../../../src/fs/format/numbers.js';

const U64_MAX = 2n ** 64n - 1n;

describe('parseU64', () => {
  it.each<[string, bigint]>([
    ['0', 0n],
    ['00', 0n],
    ['0x0', 0n],
    ['0X1f', 31n],
    ['0xABCdef', 0xabcdefn],
    ['010', 10n], // decimal, not octal
    ['4096', 4096n],
    ['0x00000000000000001', 1n], // leading zeros do not count against the width
    ['0xffffffffffffffff', U64_MAX],
    ['18446744073709551615', U64_MAX],
  ])('parses %j', (text, value) => {
    expect(parseU64(text)).toBe(value);
  });

  it.each([
    '', '0x', '0X', '-1', '+1', '1e3', '0x1_0', '1_000', ' 1', '1 ', '1\n', '0x 1', '0b1', '0o7',
    '1.0', 'abc', '0xzz', 'x10', '\0', '1\0', '١', // an Arabic-Indic digit one
  ])('rejects %j as a bad number', (text) => {
    expect(() => parseU64(text)).toThrow(FormatError);
    expect(() => parseU64(text)).toThrow(`bad number ${JSON.stringify(text)}`);
  });

  it.each([
    '18446744073709551616',
    '0x10000000000000000',
    '99999999999999999999',
    `0x1${'0'.repeat(100)}`,
    '9'.repeat(10_000),
  ])('rejects %j as out of range for 64 bits', (text) => {
    expect(() => parseU64(text)).toThrow(/^value \S+ out of range for 64 bits$/);
  });
});

describe('parseUint', () => {
  it.each<[string, number, bigint]>([
    ['0xffff', 16, 0xffffn],
    ['65535', 16, 0xffffn],
    ['255', 8, 255n],
    ['1', 1, 1n],
    ['0xf', 4, 15n],
    ['0xffffffff', 32, 0xffffffffn],
  ])('parses %j in %i bits', (text, bits, value) => {
    expect(parseUint(text, bits)).toBe(value);
  });

  it.each<[string, number, string]>([
    ['0x1ffff', 16, 'value 0x1ffff out of range for 16 bits'],
    ['65536', 16, 'value 65536 out of range for 16 bits'],
    ['256', 8, 'value 256 out of range for 8 bits'],
    ['2', 1, 'value 2 out of range for 1 bit'],
    ['0x10', 4, 'value 0x10 out of range for 4 bits'],
    ['0x100000000', 32, 'value 0x100000000 out of range for 32 bits'],
    [`0x${'f'.repeat(60)}`, 64, `value 0x${'f'.repeat(38)}... out of range for 64 bits`],
  ])('rejects %j in %i bits', (text, bits, message) => {
    expect(() => parseUint(text, bits)).toThrow(new FormatError(message));
  });
});

describe('hex', () => {
  it.each<[bigint | number, number, string]>([
    [0n, 16, '0x0000000000000000'],
    [U64_MAX, 16, '0xffffffffffffffff'],
    [0xabcn, 4, '0x0abc'],
    [0xb, 1, '0xb'],
    [0, 1, '0x0'],
    [0x12345, 4, '0x12345'], // wider than asked: never cut
    [0xffff, 8, '0x0000ffff'],
  ])('hex(%s, %i) is %s', (value, digits, text) => {
    expect(hex(value, digits)).toBe(text);
  });
});

describe('FormatError', () => {
  it.each<[string, number | undefined, string]>([
    ['bad number "x"', undefined, 'bad number "x"'],
    ['unknown register "rpi"', 1, 'line 1: unknown register "rpi"'],
    ['duplicate register rip', 12, 'line 12: duplicate register rip'],
  ])('%j at line %s reads %j', (reason, line, message) => {
    const err = new FormatError(reason, line);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('FormatError');
    expect(err.message).toBe(message);
    expect(err.reason).toBe(reason);
    expect(err.line).toBe(line);
  });

  it('atLine attributes an error without a line, and keeps one that has a line', () => {
    expect(() => atLine(3, () => { throw new FormatError('bad'); })).toThrow('line 3: bad');
    expect(() => atLine(3, () => { throw new FormatError('bad', 5); })).toThrow('line 5: bad');
    expect(atLine(3, () => 7)).toBe(7);
  });

  it('within prefixes the reason and keeps the line', () => {
    expect(() => within('rip', () => { throw new FormatError('bad', 2); })).toThrow('line 2: rip: bad');
  });

  it('atLine and within pass other errors through unchanged', () => {
    const other = new TypeError('bug');
    expect(() => atLine(1, () => { throw other; })).toThrow(other);
    expect(() => within('x', () => { throw other; })).toThrow(other);
  });

  it.each<[string, string]>([
    ['rpi', '"rpi"'],
    ['a"b', '"a\\"b"'],
    ['\0\n', '"\\u0000\\n"'],
    ['x'.repeat(50), `"${'x'.repeat(40)}..."`],
  ])('quote(%j) is %s', (text, quoted) => {
    expect(quote(text)).toBe(quoted);
  });
});
