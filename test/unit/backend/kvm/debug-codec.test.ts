// struct kvm_guest_debug as debug-codec builds it: the control bits, and
// DR7 laid out as the Intel SDM gives it (vol. 3, figure 18-1).
import { describe, expect, it } from 'vitest';
import { decodeGuestDebug, decodeTranslation, encodeGuestDebug } from '../../../../src/backend/kvm/debug-codec.js';
import type { GuestDebug } from '../../../../src/backend/guest-debug.js';

const off = (): GuestDebug['hw'] => [undefined, undefined, undefined, undefined];

function encode(debug: GuestDebug): { control: number; addrs: bigint[]; dr7: bigint; view: DataView } {
  const view = new DataView(new ArrayBuffer(72));
  encodeGuestDebug(debug, view);
  return {
    control: view.getUint32(0, true),
    addrs: [0, 1, 2, 3].map((i) => view.getBigUint64(8 + 8 * i, true)),
    dr7: view.getBigUint64(8 + 56, true),
    view,
  };
}

describe('encodeGuestDebug', () => {
  it.each<[string, GuestDebug, number, bigint]>([
    ['everything off disables debugging', { singlestep: false, swBreakpoints: false, hw: off() }, 0, 0n],
    ['single-step', { singlestep: true, swBreakpoints: false, hw: off() }, 0x3, 0n],
    ['software breakpoints', { singlestep: false, swBreakpoints: true, hw: off() }, 0x10001, 0n],
    ['an exec breakpoint in slot 0', { singlestep: false, swBreakpoints: false, hw: [{ addr: 0x1010n, type: 'exec', length: 1 }, undefined, undefined, undefined] }, 0x20001, 0x602n],
    ['a 4-byte write watchpoint in slot 1', { singlestep: false, swBreakpoints: false, hw: [undefined, { addr: 0x2000n, type: 'write', length: 4 }, undefined, undefined] }, 0x20001, 0x600n | 0x8n | (1n << 20n) | (3n << 22n)],
    ['an 8-byte rw watchpoint in slot 3', { singlestep: true, swBreakpoints: false, hw: [undefined, undefined, undefined, { addr: 0x3008n, type: 'rw', length: 8 }] }, 0x20003, 0x600n | 0x80n | (3n << 28n) | (2n << 30n)],
    ['a 2-byte io breakpoint in slot 2', { singlestep: false, swBreakpoints: false, hw: [undefined, undefined, { addr: 0xe8n, type: 'io', length: 2 }, undefined] }, 0x20001, 0x600n | 0x20n | (2n << 24n) | (1n << 26n)],
  ])('%s', (_name, debug, control, dr7) => {
    const encoded = encode(debug);
    expect(encoded.control).toBe(control);
    expect(encoded.dr7).toBe(dr7);
    expect(encoded.addrs).toEqual(debug.hw.map((bp) => bp?.addr ?? 0n));
    expect(decodeGuestDebug(encoded.view)).toEqual(debug);
  });
});

describe('decodeTranslation', () => {
  it('reads struct kvm_translation', () => {
    const view = new DataView(new ArrayBuffer(24));
    view.setBigUint64(0, 0x401000n, true);
    view.setBigUint64(8, 0x1000n, true);
    view.setUint8(16, 1);
    view.setUint8(17, 1);
    expect(decodeTranslation(view)).toEqual({ linear: 0x401000n, physical: 0x1000n, valid: true, writeable: true, usermode: false });
  });
});
