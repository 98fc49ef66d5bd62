import { describe, expect, it } from 'vitest';
import { FPU_FIELDS, type Debugregs, type Fpu } from '../../../../src/backend/types-state.js';
import { parseDebugregs, parseFpu, renderDebugregs, renderFpu } from '../../../../src/fs/format/fpu.js';
import { formatError } from './format-error.js';

const initFpu = Object.fromEntries(FPU_FIELDS.map(([name]) => [name, 0n])) as Fpu;
initFpu.fcw = 0x37fn;
initFpu.mxcsr = 0x1f80n;

describe('renderFpu', () => {
  it('renders every register in order, padded to its width', () => {
    const lines = renderFpu({ ...initFpu, st0: 0x4000c90fdaa22168c235n, xmm15: 1n << 127n }).split('\n');
    expect(lines.slice(0, 6)).toEqual([
      'fcw 0x037f', 'fsw 0x0000', 'ftwx 0x00', 'last_opcode 0x0000', 'last_ip 0x0000000000000000', 'last_dp 0x0000000000000000',
    ]);
    expect(lines[6]).toBe('st0 0x4000c90fdaa22168c235');
    expect(lines[13]).toBe('st7 0x00000000000000000000');
    expect(lines[14]).toBe('xmm0 0x00000000000000000000000000000000');
    expect(lines[29]).toBe('xmm15 0x80000000000000000000000000000000');
    expect(lines[30]).toBe('mxcsr 0x00001f80');
    expect(lines).toHaveLength(32); // 31 lines and the final newline
  });
});

describe('parseFpu', () => {
  it.each<[string, string, Partial<Fpu>]>([
    ['one xmm register', 'xmm0 0x0123456789abcdef0011223344556677', { xmm0: 0x0123456789abcdef0011223344556677n }],
    ['an 80-bit register in decimal', 'st3 1208925819614629174706175', { st3: (1n << 80n) - 1n }],
    ['several in any order', 'mxcsr 0x1f80\nfcw 0x37f\n', { mxcsr: 0x1f80n, fcw: 0x37fn }],
    ['the whole rendered file', renderFpu(initFpu), initFpu],
  ])('accepts %s', (_, text, want) => {
    expect(parseFpu(text)).toEqual(want);
  });

  it.each<[string, string, string]>([
    ['an unknown register', 'xmm16 0', 'line 1: unknown register "xmm16"'],
    ['a value too wide for 128 bits', 'xmm1 0x100000000000000000000000000000000', 'line 1: xmm1: value 0x100000000000000000000000000000000 out of range for 128 bits'],
    ['a value too wide for 80 bits', 'st0 0x100000000000000000000', 'line 1: st0: value 0x100000000000000000000 out of range for 80 bits'],
    ['fcw too wide', 'fcw 0x10000', 'line 1: fcw: value 0x10000 out of range for 16 bits'],
    ['a duplicate', 'fcw 1\nfcw 2', 'line 2: duplicate register fcw'],
    ['a missing value', 'mxcsr', 'line 1: missing value for mxcsr'],
    ['an extra token', 'mxcsr 1 2', 'line 1: unexpected "2" after the value of mxcsr'],
    ['a bad number', 'fsw -1', 'line 1: fsw: bad number "-1"'],
  ])('rejects %s', (_, text, message) => {
    expect(() => parseFpu(text)).toThrow(formatError(message));
  });
});

describe('debugregs', () => {
  const regs: Debugregs = { db0: 0x1010n, db1: 0n, db2: 0n, db3: 0n, dr6: 0xffff0ff0n, dr7: 0x401n };
  it('renders six 64-bit lines', () => {
    expect(renderDebugregs(regs)).toBe([
      'db0 0x0000000000001010', 'db1 0x0000000000000000', 'db2 0x0000000000000000', 'db3 0x0000000000000000',
      'dr6 0x00000000ffff0ff0', 'dr7 0x0000000000000401', '',
    ].join('\n'));
  });

  it.each<[string, string, Partial<Debugregs> | string]>([
    ['a read-back', renderDebugregs(regs), regs],
    ['one register', 'dr7 0x401', { dr7: 0x401n }],
    ['an unknown register', 'dr4 0', 'line 1: unknown register "dr4"'],
    ['a 65-bit value', 'db0 0x10000000000000000', 'line 1: db0: value 0x10000000000000000 out of range for 64 bits'],
  ])('parses %s', (_, text, want) => {
    if (typeof want === 'string') expect(() => parseDebugregs(text)).toThrow(formatError(want));
    else expect(parseDebugregs(text)).toEqual(want);
  });
});
