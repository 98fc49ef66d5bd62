// fpu through the XSAVE area: a write changes only the named registers in
// the area KVM gave, marks x87 and SSE present, and is one KVM_SET_XSAVE;
// without XSAVE it is KVM_GET/SET_FPU.
import { describe, expect, it } from 'vitest';
import { readFpu, writeFpu } from '../../../src/backend/fpu-state.js';
import type { VcpuFd } from '../../../src/backend/kvm/vcpu.js';
import type { HostState } from '../../../src/backend/host-state.js';
import type { Fpu } from '../../../src/backend/types-state.js';

function fakeXsave() {
  const area = new Uint8Array(4096);
  const view = new DataView(area.buffer);
  view.setUint16(0, 0x37f, true); // fcw
  view.setUint32(24, 0x1f80, true); // mxcsr
  view.setBigUint64(512, 0x1n, true); // XSTATE_BV: x87 only, SSE in its init state
  view.setUint8(600, 0x5a); // an extended component's byte
  const sets: Uint8Array[] = [];
  const fd = { setXsave: (a: Uint8Array) => sets.push(Uint8Array.from(a)) } as unknown as VcpuFd;
  const host = { hasXsave: true, readXsave: () => Uint8Array.from(area) } as unknown as HostState;
  return { area, fd, host, sets };
}

describe('fpu through XSAVE', () => {
  it('reads the registers from the legacy region', () => {
    const { fd, host } = fakeXsave();
    const fpu = readFpu(fd, host);
    expect(fpu.fcw).toBe(0x37fn);
    expect(fpu.mxcsr).toBe(0x1f80n);
    expect(fpu.xmm0).toBe(0n);
  });

  it('a write is one KVM_SET_XSAVE of the area with xmm0 at 160 and SSE marked present, the rest kept', () => {
    const { area, fd, host, sets } = fakeXsave();
    writeFpu(fd, host, { xmm0: 0x00112233445566778899aabbccddeeffn });
    expect(sets).toHaveLength(1);
    const written = new DataView(sets[0]!.buffer);
    expect(written.getBigUint64(160, true)).toBe(0x8899aabbccddeeffn);
    expect(written.getBigUint64(168, true)).toBe(0x0011223344556677n);
    expect(written.getBigUint64(512, true)).toBe(0x3n);
    expect(written.getUint16(0, true)).toBe(0x37f);
    expect(sets[0]!.subarray(576)).toEqual(area.subarray(576));
  });
});

describe('fpu without XSAVE', () => {
  it('is KVM_GET_FPU, and KVM_SET_FPU of the registers read with the named ones changed', () => {
    const current = { fcw: 0x37fn, mxcsr: 0x1f80n, xmm1: 5n } as Fpu;
    const sets: Fpu[] = [];
    const fd = { getFpu: () => ({ ...current }), setFpu: (fpu: Fpu) => sets.push(fpu) } as unknown as VcpuFd;
    const host = { hasXsave: false } as unknown as HostState;
    expect(readFpu(fd, host)).toEqual(current);
    writeFpu(fd, host, { xmm0: 1n });
    expect(sets).toEqual([{ ...current, xmm0: 1n }]);
  });
});
