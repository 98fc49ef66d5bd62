import { describe, expect, it } from 'vitest';
import type { VcpuExit } from '../../../../src/backend/types.js';
import { parseExitInput, renderExit } from '../../../../src/fs/format/exit.js';
import { formatError } from './format-error.js';

const U64_MAX = 2n ** 64n - 1n;

describe('renderExit', () => {
  it.each<[string, VcpuExit]>([
    ['io out port=0x00e9 size=1 count=1 data=0x48', { kind: 'io', direction: 'out', port: 0xe9, size: 1, count: 1, data: [0x48n] }],
    ['io out port=0x03f8 size=2 count=3 data=0x1234,0x00ab,0x0000', { kind: 'io', direction: 'out', port: 0x3f8, size: 2, count: 3, data: [0x1234n, 0xabn, 0n] }],
    ['io out port=0xffff size=4 count=1 data=0xffffffff', { kind: 'io', direction: 'out', port: 0xffff, size: 4, count: 1, data: [0xffffffffn] }],
    ['io in port=0x0060 size=1 count=1', { kind: 'io', direction: 'in', port: 0x60, size: 1, count: 1 }],
    ['io in port=0x01f0 size=2 count=256', { kind: 'io', direction: 'in', port: 0x1f0, size: 2, count: 256 }],
    ['mmio write addr=0x00000000d0000000 len=4 data=0x12345678', { kind: 'mmio', isWrite: true, addr: 0xd0000000n, len: 4, data: 0x12345678n }],
    ['mmio write addr=0xffffffffffffffff len=8 data=0x0000000000000001', { kind: 'mmio', isWrite: true, addr: U64_MAX, len: 8, data: 1n }],
    ['mmio write addr=0x00000000fee00000 len=1 data=0x00', { kind: 'mmio', isWrite: true, addr: 0xfee00000n, len: 1, data: 0n }],
    ['mmio read addr=0x00000000d0000000 len=4', { kind: 'mmio', isWrite: false, addr: 0xd0000000n, len: 4 }],
    ['hlt', { kind: 'hlt' }],
    ['shutdown', { kind: 'shutdown' }],
    ['intr', { kind: 'intr' }],
    ['fail_entry reason=0x0000000000000021 cpu=3', { kind: 'fail_entry', reason: 0x21n, cpu: 3 }],
    ['internal_error suberror=1', { kind: 'internal_error', suberror: 1 }],
    ['debug pc=0x0000000000001003 exception=1 dr6=0x00000000ffff4ff0 dr7=0x0000000000000400', { kind: 'debug', pc: 0x1003n, exception: 1, dr6: 0xffff4ff0n, dr7: 0x400n }],
    ['system_event type=2 flags=0x0000000000000000', { kind: 'system_event', type: 2, flags: 0n }],
    ['unknown reason=7', { kind: 'unknown', reason: 7 }],
    ['unknown reason=0 hardware_exit_reason=0x0000000000000030', { kind: 'unknown', reason: 0, hardwareExitReason: 0x30n }],
  ])('renders %s', (line, exit) => {
    expect(renderExit(exit)).toBe(`${line}\n`);
  });
});

const ioIn = (count: number, size: number): VcpuExit => ({ kind: 'io', direction: 'in', port: 0x60, size, count });
const mmioRead = (len: number): VcpuExit => ({ kind: 'mmio', isWrite: false, addr: 0xd0000000n, len });

describe('parseExitInput', () => {
  it.each<[string, VcpuExit, string, bigint[]]>([
    ['one byte from echo', ioIn(1, 1), '0x41\n', [0x41n]],
    ['decimal', ioIn(1, 1), '65', [65n]],
    ['the widest byte', ioIn(1, 1), '255', [255n]],
    ['commas', ioIn(3, 1), '1,2,3', [1n, 2n, 3n]],
    ['spaces', ioIn(3, 1), '1 2 3', [1n, 2n, 3n]],
    ['commas with spaces and tabs', ioIn(3, 2), ' 0x1, 0x2 ,\t0xffff\n', [1n, 2n, 0xffffn]],
    ['one value per line', ioIn(2, 4), '0xffffffff\n0\n', [0xffffffffn, 0n]],
    ['a data= prefix', ioIn(3, 1), 'data=0x41,0x42,0x43\n', [0x41n, 0x42n, 0x43n]],
    ['a data= prefix and a space', ioIn(1, 1), 'data= 0x41', [0x41n]],
    ['an mmio value', mmioRead(4), '0x12345678\n', [0x12345678n]],
    ['the widest mmio value', mmioRead(8), '0xffffffffffffffff', [U64_MAX]],
    ['an mmio value with data=', mmioRead(2), 'data=0x00ff', [0xffn]],
  ])('accepts %s', (_, pending, text, values) => {
    expect(parseExitInput(text, pending)).toEqual({ values });
  });

  it.each<[string, VcpuExit | undefined]>([
    ['nothing', undefined],
    ['hlt', { kind: 'hlt' }],
    ['io out', { kind: 'io', direction: 'out', port: 0xe9, size: 1, count: 1, data: [0x48n] }],
    ['mmio write', { kind: 'mmio', isWrite: true, addr: 0n, len: 4, data: 0n }],
  ])('rejects any input when %s is pending', (_, pending) => {
    expect(() => parseExitInput('0x41', pending)).toThrow(formatError('no io in or mmio read is waiting for data'));
  });

  it.each<[string, VcpuExit, string, string]>([
    ['too few values', ioIn(3, 1), '0x41', 'expected 3 values (count=3), got 1'],
    ['too many values', ioIn(1, 1), '1,2', 'expected 1 value (count=1), got 2'],
    ['no values', ioIn(2, 1), '\n', 'expected 2 values (count=2), got 0'],
    ['only data=', ioIn(1, 1), 'data=', 'expected 1 value (count=1), got 0'],
    ['a trailing comma', ioIn(1, 1), '1,', 'expected 1 value (count=1), got 2'],
    ['two mmio values', mmioRead(4), '1 2', 'expected 1 value (mmio read), got 2'],
    ['no mmio value', mmioRead(4), '', 'expected 1 value (mmio read), got 0'],
    ['an io value too wide', ioIn(1, 1), '0x100', 'value 0x100 out of range for 8 bits (size=1)'],
    ['a second io value too wide', ioIn(2, 2), '1,65536', 'value 65536 out of range for 16 bits (size=2)'],
    ['an mmio value too wide', mmioRead(2), '0x10000', 'value 0x10000 out of range for 16 bits (len=2)'],
    ['a negative value', ioIn(1, 1), '-1', 'bad number "-1" (size=1)'],
    ['an empty value between commas', ioIn(3, 1), '1,,2', 'bad number "" (size=1)'],
    ['a bad value', mmioRead(4), '0xzz', 'bad number "0xzz" (len=4)'],
    ['a NUL byte', ioIn(1, 1), '1\0', 'bad number "1\\u0000" (size=1)'],
    ['field syntax other than data=', ioIn(1, 1), 'value=1', 'bad number "value=1" (size=1)'],
  ])('rejects %s', (_, pending, text, message) => {
    expect(() => parseExitInput(text, pending)).toThrow(formatError(message));
  });
});
