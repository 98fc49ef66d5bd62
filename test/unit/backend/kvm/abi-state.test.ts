// The vcpu state ABI pinned to <linux/kvm.h> (x86-64): the expected numbers
// below were printed by a C program including the header (sizeof, offsetof
// and the ioctl macros).
import { describe, expect, it } from 'vitest';
import { MAX_CPUID_ENTRIES, stateCaps, stateIoctls, stateOffsets, stateSizes, vcpuEventsValid } from '../../../../src/backend/kvm/abi-state.js';

describe('ioctl numbers', () => {
  it.each([
    ['KVM_GET_MSR_INDEX_LIST', 0xc004ae02],
    ['KVM_GET_SUPPORTED_CPUID', 0xc008ae05],
    ['KVM_GET_MSRS', 0xc008ae88],
    ['KVM_SET_MSRS', 0x4008ae89],
    ['KVM_GET_CPUID2', 0xc008ae91],
    ['KVM_SET_CPUID2', 0x4008ae90],
    ['KVM_GET_FPU', 0x81a0ae8c],
    ['KVM_SET_FPU', 0x41a0ae8d],
    ['KVM_NMI', 0xae9a],
    ['KVM_GET_VCPU_EVENTS', 0x8040ae9f],
    ['KVM_SET_VCPU_EVENTS', 0x4040aea0],
    ['KVM_GET_DEBUGREGS', 0x8080aea1],
    ['KVM_SET_DEBUGREGS', 0x4080aea2],
    ['KVM_GET_XSAVE', 0x9000aea4],
    ['KVM_SET_XSAVE', 0x5000aea5],
    ['KVM_GET_XSAVE2', 0x9000aecf],
    ['KVM_GET_XCRS', 0x8188aea6],
    ['KVM_SET_XCRS', 0x4188aea7],
    ['KVM_GET_MP_STATE', 0x8004ae98],
    ['KVM_SET_MP_STATE', 0x4004ae99],
  ] as const)('%s = %i', (name, value) => {
    expect(stateIoctls[name]).toBe(value);
  });

  it('capabilities and flags', () => {
    expect(stateCaps).toEqual({ KVM_CAP_XSAVE: 0x37, KVM_CAP_XSAVE2: 0xd0 });
    expect(vcpuEventsValid).toEqual({ NMI_PENDING: 1, SIPI_VECTOR: 2, SHADOW: 4, SMM: 8, PAYLOAD: 0x10, TRIPLE_FAULT: 0x20 });
    expect(MAX_CPUID_ENTRIES).toBe(256);
  });
});

describe('struct sizes', () => {
  it.each([
    ['kvm_fpu', 416], ['kvm_xsave', 4096], ['kvm_xcrs', 392], ['kvm_xcr', 16], ['kvm_vcpu_events', 64],
    ['kvm_debugregs', 128], ['kvm_mp_state', 4], ['kvm_msrs', 8], ['kvm_msr_entry', 16], ['kvm_msr_list', 4],
    ['kvm_cpuid2', 8], ['kvm_cpuid_entry2', 40],
  ] as const)('sizeof(struct %s) = %i', (name, size) => {
    expect(stateSizes[name]).toBe(size);
  });
});

describe('field offsets', () => {
  it('struct kvm_fpu: xmm0 at 152, not 160', () => {
    expect(stateOffsets.kvm_fpu).toEqual({ fpr: 0, fcw: 128, fsw: 130, ftwx: 132, last_opcode: 134, last_ip: 136, last_dp: 144, xmm: 152, mxcsr: 408 });
  });

  it('struct kvm_msr_entry, kvm_cpuid_entry2, kvm_debugregs, kvm_xcrs', () => {
    expect(stateOffsets.kvm_msr_entry).toEqual({ index: 0, data: 8 });
    expect(stateOffsets.kvm_cpuid_entry2).toEqual({ function: 0, index: 4, flags: 8, eax: 12, ebx: 16, ecx: 20, edx: 24 });
    expect(stateOffsets.kvm_debugregs).toEqual({ db: 0, dr6: 32, dr7: 40, flags: 48 });
    expect(stateOffsets.kvm_xcrs).toEqual({ nr_xcrs: 0, flags: 4, xcrs: 8, xcrValue: 8 });
  });

  it('struct kvm_vcpu_events', () => {
    const events = stateOffsets.kvm_vcpu_events;
    expect(events.exception).toEqual({ injected: 0, nr: 1, has_error_code: 2, pending: 3, error_code: 4 });
    expect(events.interrupt.injected).toBe(8);
    expect(events.nmi.injected).toBe(12);
    expect(events.sipi_vector).toBe(16);
    expect(events.flags).toBe(20);
    expect(events.smi.smm).toBe(24);
  });

  it('the XSAVE area: FXSAVE legacy region (64-bit form), header at 512', () => {
    expect(stateOffsets.xsave).toEqual({ fcw: 0, fsw: 2, ftw: 4, fop: 6, fip: 8, fdp: 16, mxcsr: 24, st: 32, xmm: 160, xstateBv: 512 });
  });
});
