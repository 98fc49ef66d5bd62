import { describe, expect, it } from 'vitest';
import { REG_NAMES, type Regs } from '../../../../src/backend/types.js';
import { parseRegs, renderRegs } from '../../../../src/fs/format/regs.js';
import { formatError } from './format-error.js';

const U64_MAX = 2n ** 64n - 1n;
const regsOf = (value: (index: number) => bigint): Regs =>
  Object.fromEntries(REG_NAMES.map((name, index) => [name, value(index)])) as Regs;

const sample: Regs = {
  rax: 0x1n, rbx: 0x2n, rcx: 0x3n, rdx: 0x4n, rsi: 0x5n, rdi: 0x6n, rsp: 0x7000n, rbp: 0x8000n,
  r8: 0x8n, r9: 0x9n, r10: 0xan, r11: 0xbn, r12: 0xcn, r13: 0xdn, r14: 0xen, r15: U64_MAX,
  rip: 0xfff0n, rflags: 0x2n,
};

const sampleText = `\
rax 0x0000000000000001
rbx 0x0000000000000002
rcx 0x0000000000000003
rdx 0x0000000000000004
rsi 0x0000000000000005
rdi 0x0000000000000006
rsp 0x0000000000007000
rbp 0x0000000000008000
r8 0x0000000000000008
r9 0x0000000000000009
r10 0x000000000000000a
r11 0x000000000000000b
r12 0x000000000000000c
r13 0x000000000000000d
r14 0x000000000000000e
r15 0xffffffffffffffff
rip 0x000000000000fff0
rflags 0x0000000000000002
`;

describe('renderRegs', () => {
  it('renders 18 lines in REG_NAMES order, 16 hex digits each', () => {
    expect(renderRegs(sample)).toBe(sampleText);
  });
});

describe('render then parse', () => {
  it.each<[string, Regs]>([
    ['sample', sample],
    ['all zero', regsOf(() => 0n)],
    ['all max', regsOf(() => U64_MAX)],
    ['distinct', regsOf((i) => BigInt(i) * 0x0101010101010101n)],
  ])('gives back the %s registers', (_, regs) => {
    expect(parseRegs(renderRegs(regs))).toEqual(regs);
  });
});

describe('parseRegs', () => {
  it.each<[string, string, Partial<Regs>]>([
    ['one register', 'rip 0x1000', { rip: 0x1000n }],
    ['a trailing newline', 'rip 0x1000\n', { rip: 0x1000n }],
    ['decimal', 'rsp 4096\n', { rsp: 4096n }],
    ['upper-case 0X', 'rax 0XFF\n', { rax: 255n }],
    ['any order', 'rflags 0x2\nrax 1\nrip 0x10\n', { rflags: 2n, rax: 1n, rip: 0x10n }],
    ['tabs and extra spaces', '\trip \t 0x10  \n  rax\t1\t', { rip: 0x10n, rax: 1n }],
    ['CRLF lines', 'rip 0x10\r\nrax 1\r\n', { rip: 0x10n, rax: 1n }],
    ['a CR on the last line', 'rip 0x10\r', { rip: 0x10n }],
    ['blank lines', '\n\nrip 1\n\n  \n\t\nrax 2\n\n', { rip: 1n, rax: 2n }],
    ['the maximum', 'r15 0xffffffffffffffff', { r15: U64_MAX }],
    ['the maximum in decimal', 'r15 18446744073709551615', { r15: U64_MAX }],
  ])('accepts %s', (_, text, changes) => {
    expect(parseRegs(text)).toEqual(changes);
  });

  it.each<[string, string, string]>([
    ['an unknown register', 'rpi 0x1000', 'line 1: unknown register "rpi"'],
    ['a register in upper case', 'RIP 1', 'line 1: unknown register "RIP"'],
    ['name=value syntax', 'rip=1', 'line 1: unknown register "rip=1"'],
    ['a prototype property name', 'constructor 1', 'line 1: unknown register "constructor"'],
    ['an error on a later line', 'rax 1\n\nrpi 2', 'line 3: unknown register "rpi"'],
    ['a duplicate register', 'rip 1\nrax 2\nrip 3', 'line 3: duplicate register rip'],
    ['a missing value', 'rip', 'line 1: missing value for rip'],
    ['a missing value before spaces', 'rip  \t\n', 'line 1: missing value for rip'],
    ['an extra token', 'rip 1 2', 'line 1: unexpected "2" after the value of rip'],
    ['a comment', 'rip 1 # entry', 'line 1: unexpected "#" after the value of rip'],
    ['a bad number', 'rip 0xzz', 'line 1: rip: bad number "0xzz"'],
    ['a negative number', 'rax -1', 'line 1: rax: bad number "-1"'],
    ['a number with a sign', 'rax +1', 'line 1: rax: bad number "+1"'],
    ['a bare 0x', 'rax 0x', 'line 1: rax: bad number "0x"'],
    ['2^64', 'rax 18446744073709551616', 'line 1: rax: value 18446744073709551616 out of range for 64 bits'],
    ['17 hex digits', 'rax 0x10000000000000000', 'line 1: rax: value 0x10000000000000000 out of range for 64 bits'],
    ['a NUL byte', 'rip 1\0', 'line 1: control character 0x00 not allowed'],
    ['a NUL-only line', 'rip 1\n\0', 'line 2: control character 0x00 not allowed'],
    ['a CR inside a line', 'rip 1\r2', 'line 1: control character 0x0d not allowed'],
    ['a vertical tab', 'rip\x0b1', 'line 1: control character 0x0b not allowed'],
    ['an escape', 'rip \x1b[1m1', 'line 1: control character 0x1b not allowed'],
    ['a DEL', 'rip 1\x7f', 'line 1: control character 0x7f not allowed'],
    ['empty input', '', 'no registers given'],
    ['only blank lines', '\n \t\n\r\n', 'no registers given'],
  ])('rejects %s', (_, text, message) => {
    expect(() => parseRegs(text)).toThrow(formatError(message));
  });
});
