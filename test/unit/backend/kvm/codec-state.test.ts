// The vcpu state codecs against bytes placed by hand at the offsets
// <linux/kvm.h> gives (abi-state.test.ts pins those offsets).
import { describe, expect, it } from 'vitest';
import {
  cpuid2Rooms, decodeCpuid2, decodeDebugregs, decodeFpu, decodeMsrs, decodeVcpuEvents, decodeXcrs, decodeXsaveFpu,
  encodeCpuid2, encodeDebugregs, encodeFpu, encodeMsrs, encodeVcpuEvents, encodeXcrs, encodeXsaveFpu, newCpuid2, newView,
} from '../../../../src/backend/kvm/codec-state.js';
import { FPU_FIELDS, type Fpu, type VcpuEvents } from '../../../../src/backend/types-state.js';

/** Every register distinct and using its whole width. */
const fpu = Object.fromEntries(FPU_FIELDS.map(([name, bits], i) => [name, ((1n << BigInt(bits)) - 1n) ^ BigInt(i + 1)])) as Fpu;

describe('struct kvm_fpu', () => {
  it('places each register at its offset (xmm0 at 152, st0 in a 16-byte slot at 0)', () => {
    const view = newView(416);
    encodeFpu(fpu, view);
    expect(view.getUint16(128, true)).toBe(Number(fpu.fcw));
    expect(view.getUint8(132)).toBe(Number(fpu.ftwx));
    expect(view.getBigUint64(136, true)).toBe(fpu.last_ip);
    expect(view.getBigUint64(152, true)).toBe(fpu.xmm0 & 0xffffffffffffffffn);
    expect(view.getBigUint64(160, true)).toBe(fpu.xmm0 >> 64n);
    expect(view.getBigUint64(152 + 15 * 16 + 8, true)).toBe(fpu.xmm15 >> 64n);
    expect(view.getUint32(408, true)).toBe(Number(fpu.mxcsr));
    expect(view.getBigUint64(16, true)).toBe(fpu.st1 & 0xffffffffffffffffn);
    expect(view.getUint16(24, true)).toBe(Number(fpu.st1 >> 64n));
    expect(view.getUint16(26, true)).toBe(0); // the st slot's unused 6 bytes
    expect(decodeFpu(view)).toEqual(fpu);
  });
});

describe('the XSAVE area', () => {
  it('holds the registers at the FXSAVE offsets (xmm0 at 160) and marks x87 and SSE present, keeping other XSTATE_BV bits', () => {
    const view = newView(4096);
    view.setBigUint64(512, 0x4n, true); // AVX present
    view.setUint8(576, 0xaa); // beyond the legacy region and header: untouched
    encodeXsaveFpu(fpu, view);
    expect(view.getUint16(0, true)).toBe(Number(fpu.fcw));
    expect(view.getUint8(4)).toBe(Number(fpu.ftwx));
    expect(view.getUint16(6, true)).toBe(Number(fpu.last_opcode));
    expect(view.getBigUint64(16, true)).toBe(fpu.last_dp);
    expect(view.getUint32(24, true)).toBe(Number(fpu.mxcsr));
    expect(view.getBigUint64(32, true)).toBe(fpu.st0 & 0xffffffffffffffffn);
    expect(view.getBigUint64(160, true)).toBe(fpu.xmm0 & 0xffffffffffffffffn);
    expect(view.getBigUint64(512, true)).toBe(0x7n);
    expect(view.getUint8(576)).toBe(0xaa);
    expect(decodeXsaveFpu(view)).toEqual(fpu);
  });
});

describe('struct kvm_debugregs and kvm_xcrs', () => {
  it('debugregs: db0..db3, dr6, dr7 as u64 from 0; flags stays 0', () => {
    const regs = { db0: 1n, db1: 2n, db2: 3n, db3: 0xffffffffffffffffn, dr6: 0xffff0ff0n, dr7: 0x401n };
    const view = newView(128);
    encodeDebugregs(regs, view);
    expect(view.getBigUint64(24, true)).toBe(regs.db3);
    expect(view.getBigUint64(40, true)).toBe(0x401n);
    expect(view.getBigUint64(48, true)).toBe(0n);
    expect(decodeDebugregs(view)).toEqual(regs);
  });

  it('xcrs: nr_xcrs, then {xcr, reserved, value} of 16 bytes', () => {
    const view = newView(392);
    encodeXcrs([{ xcr: 0, value: 7n }, { xcr: 1, value: 0x10n }], view);
    expect(view.getUint32(0, true)).toBe(2);
    expect(view.getUint32(24, true)).toBe(1);
    expect(view.getBigUint64(32, true)).toBe(0x10n);
    expect(decodeXcrs(view)).toEqual([{ xcr: 0, value: 7n }, { xcr: 1, value: 0x10n }]);
  });
});

describe('struct kvm_msrs', () => {
  it('nmsrs, then {index, reserved, data} entries from byte 8; a get gives indices only', () => {
    const view = encodeMsrs([{ index: 0x174, data: 0x10n }, { index: 0xc0000080, data: 0xd01n }]);
    expect(view.byteLength).toBe(8 + 2 * 16);
    expect(view.getUint32(0, true)).toBe(2);
    expect(view.getUint32(24, true)).toBe(0xc0000080);
    expect(view.getBigUint64(32, true)).toBe(0xd01n);
    expect(decodeMsrs(view, 1)).toEqual([{ index: 0x174, data: 0x10n }]);
    expect(decodeMsrs(encodeMsrs([0x10, 0x175]), 2)).toEqual([{ index: 0x10, data: 0n }, { index: 0x175, data: 0n }]);
  });
});

describe('struct kvm_cpuid2', () => {
  it('nent, then 40-byte entries: function, index, flags, eax, ebx, ecx, edx', () => {
    const entries = [
      { function: 0, index: 0, flags: 0, eax: 0xd, ebx: 0x756e6547, ecx: 0x6c65746e, edx: 0x49656e69 },
      { function: 7, index: 1, flags: 1, eax: 1, ebx: 2, ecx: 3, edx: 0xffffffff },
    ];
    const view = encodeCpuid2(entries);
    expect(view.byteLength).toBe(8 + 2 * 40);
    expect(view.getUint32(8 + 40 + 4, true)).toBe(1);
    expect(view.getUint32(8 + 40 + 24, true)).toBe(0xffffffff);
    expect(decodeCpuid2(view)).toEqual(entries);
  });

  it('a buffer for a get has room for KVM_MAX_CPUID_ENTRIES and says so in nent', () => {
    const view = newCpuid2();
    expect(view.byteLength).toBe(8 + 256 * 40);
    expect(view.getUint32(0, true)).toBe(256);
  });

  // KVM_GET_CPUID2 says E2BIG without the count it needs; a first offer of
  // room for none (the old probe) failed for every non-empty table.
  it('KVM_GET_CPUID2 is first offered room for KVM_MAX_CPUID_ENTRIES, then twice as much each time, up to a bound', () => {
    expect(cpuid2Rooms()).toEqual([256, 512, 1024, 2048, 4096]);
    expect(cpuid2Rooms(0, 4)).toEqual([1, 2, 4]);
    expect(cpuid2Rooms(300, 256)).toEqual([]);
  });
});

describe('struct kvm_vcpu_events', () => {
  it('every shown field at its offset', () => {
    const events: VcpuEvents = {
      exception: { injected: 1, pending: 0, nr: 14, has_error_code: 1, error_code: 0xdeadbeef },
      interrupt: { injected: 1, nr: 0x20, soft: 0, shadow: 1 },
      nmi: { injected: 0, pending: 2, masked: 1 },
      sipi_vector: 0x9a,
      smi: { smm: 0, pending: 1, smm_inside_nmi: 0, latched_init: 1 },
      flags: 0xf,
    };
    const view = newView(64);
    encodeVcpuEvents(events, view);
    expect([...new Uint8Array(view.buffer, 0, 16)]).toEqual([1, 14, 1, 0, 0xef, 0xbe, 0xad, 0xde, 1, 0x20, 0, 1, 0, 2, 1, 0]);
    expect(view.getUint32(16, true)).toBe(0x9a);
    expect(view.getUint32(20, true)).toBe(0xf);
    expect([...new Uint8Array(view.buffer, 24, 4)]).toEqual([0, 1, 0, 1]);
    expect(decodeVcpuEvents(view)).toEqual(events);
  });
});
