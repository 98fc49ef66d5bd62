// The KVM ABI of the vcpu state beyond regs and sregs (x86-64 <linux/kvm.h>):
// ioctl numbers, struct sizes and the offsets codec-state.ts reads and
// writes. test/unit/backend/kvm/abi-state.test.ts pins them to the values a C
// program including the header printed.
import { io, ior, iow, iowr } from './abi.js';

/** Fixed-size structs, and the headers of the variable-length ones. */
export const stateSizes = {
  kvm_fpu: 416,
  kvm_xsave: 4096,
  kvm_xcrs: 392,
  kvm_xcr: 16,
  kvm_vcpu_events: 64,
  kvm_debugregs: 128,
  kvm_mp_state: 4,
  /** nmsrs (u32) + pad, then struct kvm_msr_entry[] */
  kvm_msrs: 8,
  kvm_msr_entry: 16,
  /** nmsrs (u32), then u32 indices[] */
  kvm_msr_list: 4,
  /** nent (u32) + padding, then struct kvm_cpuid_entry2[] */
  kvm_cpuid2: 8,
  kvm_cpuid_entry2: 40,
} as const;

export const stateIoctls = {
  KVM_GET_MSR_INDEX_LIST: iowr(0x02, stateSizes.kvm_msr_list),
  KVM_GET_SUPPORTED_CPUID: iowr(0x05, stateSizes.kvm_cpuid2),
  KVM_GET_MSRS: iowr(0x88, stateSizes.kvm_msrs),
  KVM_SET_MSRS: iow(0x89, stateSizes.kvm_msrs),
  KVM_SET_CPUID2: iow(0x90, stateSizes.kvm_cpuid2),
  KVM_GET_CPUID2: iowr(0x91, stateSizes.kvm_cpuid2),
  KVM_GET_FPU: ior(0x8c, stateSizes.kvm_fpu),
  KVM_SET_FPU: iow(0x8d, stateSizes.kvm_fpu),
  KVM_GET_MP_STATE: ior(0x98, stateSizes.kvm_mp_state),
  KVM_SET_MP_STATE: iow(0x99, stateSizes.kvm_mp_state),
  KVM_NMI: io(0x9a),
  KVM_GET_VCPU_EVENTS: ior(0x9f, stateSizes.kvm_vcpu_events),
  KVM_SET_VCPU_EVENTS: iow(0xa0, stateSizes.kvm_vcpu_events),
  KVM_GET_DEBUGREGS: ior(0xa1, stateSizes.kvm_debugregs),
  KVM_SET_DEBUGREGS: iow(0xa2, stateSizes.kvm_debugregs),
  KVM_GET_XSAVE: ior(0xa4, stateSizes.kvm_xsave),
  KVM_SET_XSAVE: iow(0xa5, stateSizes.kvm_xsave),
  KVM_GET_XCRS: ior(0xa6, stateSizes.kvm_xcrs),
  KVM_SET_XCRS: iow(0xa7, stateSizes.kvm_xcrs),
  KVM_GET_XSAVE2: ior(0xcf, stateSizes.kvm_xsave),
} as const;

export const stateCaps = {
  KVM_CAP_XSAVE: 55,
  /** its value is the size of the XSAVE area KVM_GET_XSAVE2 fills */
  KVM_CAP_XSAVE2: 208,
} as const;

/** Field offsets of the structs codec-state.ts encodes. */
export const stateOffsets = {
  kvm_fpu: { fpr: 0, fcw: 128, fsw: 130, ftwx: 132, last_opcode: 134, last_ip: 136, last_dp: 144, xmm: 152, mxcsr: 408 },
  kvm_msr_entry: { index: 0, data: 8 },
  kvm_cpuid_entry2: { function: 0, index: 4, flags: 8, eax: 12, ebx: 16, ecx: 20, edx: 24 },
  kvm_vcpu_events: {
    exception: { injected: 0, nr: 1, has_error_code: 2, pending: 3, error_code: 4 },
    interrupt: { injected: 8, nr: 9, soft: 10, shadow: 11 },
    nmi: { injected: 12, pending: 13, masked: 14 },
    sipi_vector: 16,
    flags: 20,
    smi: { smm: 24, pending: 25, smm_inside_nmi: 26, latched_init: 27 },
  },
  kvm_debugregs: { db: 0, dr6: 32, dr7: 40, flags: 48 },
  kvm_xcrs: { nr_xcrs: 0, flags: 4, xcrs: 8, xcrValue: 8 },
  /** The XSAVE area's legacy region (the FXSAVE image, 64-bit form) and header. */
  xsave: { fcw: 0, fsw: 2, ftw: 4, fop: 6, fip: 8, fdp: 16, mxcsr: 24, st: 32, xmm: 160, xstateBv: 512 },
} as const;

/** KVM_VCPUEVENT_VALID_*: which parts of struct kvm_vcpu_events KVM_SET_VCPU_EVENTS takes. */
export const vcpuEventsValid = { NMI_PENDING: 0x1, SIPI_VECTOR: 0x2, SHADOW: 0x4, SMM: 0x8, PAYLOAD: 0x10, TRIPLE_FAULT: 0x20 } as const;

/** XSTATE_BV bits of the components struct kvm_fpu covers: x87 and SSE (xmm, mxcsr). */
export const XSTATE_X87_SSE = 0x3n;
/** KVM_MAX_CPUID_ENTRIES; KVM_GET_SUPPORTED_CPUID and KVM_GET_CPUID2 never return more. */
export const MAX_CPUID_ENTRIES = 256;
/** KVM_MAX_XCRS */
export const MAX_XCRS = 16;
