import { describe, expect, it } from 'vitest';
import { parsePorts, renderPorts } from '../../../../src/fs/format/ports.js';
import { formatError } from './format-error.js';

describe('parsePorts', () => {
  it.each<[string, number[] | undefined]>([
    ['0xe9', [0xe9]],
    ['0xe9\n', [0xe9]],
    ['233', [0xe9]],
    ['0x3f8 0xe9\n', [0xe9, 0x3f8]],
    ['0x3f8\n0xe9\n0x3f8\n', [0xe9, 0x3f8]],
    ['\t0x0000 \r\n65535\n', [0, 0xffff]],
    ['none\n', []],
    [' none ', []],
    ['', undefined],
    ['\n \n', undefined],
  ])('accepts %j', (text, ports) => {
    expect(parsePorts(text)).toEqual(ports);
  });

  it.each<[string, string]>([
    ['0x10000', 'line 1: value 0x10000 out of range for 16 bits'],
    ['0xe9\n65536\n', 'line 2: value 65536 out of range for 16 bits'],
    ['0xe9 com1', 'line 1: bad number "com1"'],
    ['-1', 'line 1: bad number "-1"'],
    ['0xe9\nnone', 'line 1: "none" must be the only word of the write'],
    ['0xe9\0', 'line 1: control character 0x00 not allowed'],
  ])('rejects %j', (text, message) => {
    expect(() => parsePorts(text)).toThrow(formatError(message));
  });
});

describe('renderPorts', () => {
  it('renders one 16-bit port a line, and reads back as the same set', () => {
    const text = renderPorts([0xe9, 0x3f8]);
    expect(text).toBe('0x00e9\n0x03f8\n');
    expect(parsePorts(text)).toEqual([0xe9, 0x3f8]);
  });

  it('renders no ports as nothing', () => {
    expect(renderPorts([])).toBe('');
  });
});
