import { describe, expect, it } from 'vitest';
import type { GuestDebug } from '../../../../src/backend/guest-debug.js';
import { applyGuestDebugText, parseAddresses, renderGuestDebug, renderTranslations } from '../../../../src/fs/format/debug.js';
import { formatError } from './format-error.js';

const allOff: GuestDebug = { singlestep: false, swBreakpoints: false, hw: [undefined, undefined, undefined, undefined] };
const withHw1: GuestDebug = { ...allOff, hw: [undefined, { addr: 0x1010n, type: 'exec', length: 1 }, undefined, undefined] };
const withHw1Text = `singlestep 0
sw_breakpoints 0
hw0 off
hw1 addr=0x0000000000001010 type=exec len=1
hw2 off
hw3 off
`;

describe('renderGuestDebug', () => {
  it('shows every setting, off slots as off', () => {
    expect(renderGuestDebug(withHw1)).toBe(withHw1Text);
  });
});

describe('applyGuestDebugText', () => {
  it.each<[string, GuestDebug, string, GuestDebug]>([
    ['the read output written back', allOff, withHw1Text, withHw1],
    ['singlestep alone', withHw1, 'singlestep 1', { ...withHw1, singlestep: true }],
    ['sw_breakpoints alone', allOff, 'sw_breakpoints 1\n', { ...allOff, swBreakpoints: true }],
    ['a new slot from addr only: exec, len 1', allOff, 'hw2 addr=0x2000', { ...allOff, hw: [undefined, undefined, { addr: 0x2000n, type: 'exec', length: 1 }, undefined] }],
    ['a watchpoint, decimal addr', allOff, 'hw0 addr=8192 type=write len=4', { ...allOff, hw: [{ addr: 0x2000n, type: 'write', length: 4 }, undefined, undefined, undefined] }],
    ['only the fields named change', withHw1, 'hw1 addr=0x1020', { ...allOff, hw: [undefined, { addr: 0x1020n, type: 'exec', length: 1 }, undefined, undefined] }],
    ['off', withHw1, 'hw1 off', allOff],
    ['an io breakpoint on a port', allOff, 'hw3 type=io len=1 addr=0xe9', { ...allOff, hw: [undefined, undefined, undefined, { addr: 0xe9n, type: 'io', length: 1 }] }],
    ['any order, tabs, CRLF', allOff, 'hw0\taddr=0x8 type=rw len=8\r\nsinglestep 1\r\n', { ...allOff, singlestep: true, hw: [{ addr: 8n, type: 'rw', length: 8 }, undefined, undefined, undefined] }],
  ])('%s', (_name, current, text, expected) => {
    expect(applyGuestDebugText(current, text)).toEqual(expected);
  });

  it('leaves the current settings as they were', () => {
    const current = structuredClone(withHw1);
    applyGuestDebugText(current, 'hw1 off\nhw0 addr=0x10');
    expect(current).toEqual(withHw1);
  });

  it.each([
    ['singlestep 2', 'line 1: singlestep: expected 0 or 1'],
    ['singlestep', 'line 1: singlestep: expected 0 or 1'],
    ['singlestep 1\nsinglestep 0', 'line 2: duplicate line singlestep'],
    ['hw4 off', 'line 1: unknown setting "hw4" (singlestep, sw_breakpoints, hw0..hw3)'],
    ['hw0', 'line 1: hw0: expected off or addr= type= len='],
    ['hw0 addr', 'line 1: hw0: expected field=value, got "addr"'],
    ['hw0 addr=0x10 addr=0x20', 'line 1: hw0: duplicate field addr'],
    ['hw0 size=1', 'line 1: hw0: unknown field "size" (addr, type, len)'],
    ['hw0 type=read', 'line 1: hw0 type: "read" is not one of exec, write, rw, io'],
    ['hw0 type=write len=3', 'line 1: hw0 len: "3" is not one of 1, 2, 4, 8'],
    ['hw0 addr=zz', 'line 1: hw0 addr: bad number "zz"'],
    ['hw0 addr=0x1000 len=4', 'line 1: hw0: an exec breakpoint has len=1'],
    ['hw0 addr=0x1002 type=write len=4', 'line 1: hw0: addr 0x0000000000001002 is not aligned to len=4'],
    ['hw0 addr=0x10000 type=io', "line 1: hw0: an io breakpoint's addr is a port (at most 0xffff)"],
  ])('rejects %j', (text, message) => {
    expect(() => applyGuestDebugText(allOff, text)).toThrow(formatError(message));
  });
});

describe('translate', () => {
  it('renders one line per answer', () => {
    expect(renderTranslations([
      { linear: 0x401000n, physical: 0x1000n, valid: true, writeable: true, usermode: false },
      { linear: 0x800000n, physical: 0xffffffffffffffffn, valid: false, writeable: false, usermode: false },
    ])).toBe('0x0000000000401000 gpa=0x0000000000001000 valid=1 writeable=1 usermode=0\n0x0000000000800000 gpa=0xffffffffffffffff valid=0 writeable=0 usermode=0\n');
  });

  it.each<[string, string, bigint[]]>([
    ['one address', '0x401000\n', [0x401000n]],
    ['several, decimal, blank lines', '4096\n\n0x2000\n', [0x1000n, 0x2000n]],
    ['a read written back', '0x0000000000401000 gpa=0x0000000000001000 valid=1 writeable=1 usermode=0\n', [0x401000n]],
    ['nothing', ' \n', []],
  ])('parses %s', (_name, text, addresses) => {
    expect(parseAddresses(text)).toEqual(addresses);
  });

  it.each([
    ['0x1000 0x2000', 'line 1: unexpected "0x2000" after the address'],
    ['0x1000 size=1', 'line 1: unexpected "size=1" after the address'],
    ['0x1000\nrip', 'line 2: address: bad number "rip"'],
    ['0x10000000000000000', 'line 1: address: value 0x10000000000000000 out of range for 64 bits'],
  ])('rejects %j', (text, message) => {
    expect(() => parseAddresses(text)).toThrow(formatError(message));
  });
});
