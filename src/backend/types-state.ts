// Plain-data views of the vcpu state structs beyond kvm_regs and
// kvm_sregs, decoded by codec-state.ts and rendered by src/fs/format.

/** struct kvm_fpu's registers as the fpu file names them, with their widths in bits, in file order. */
export const FPU_FIELDS = [
  ['fcw', 16], ['fsw', 16], ['ftwx', 8], ['last_opcode', 16], ['last_ip', 64], ['last_dp', 64],
  ['st0', 80], ['st1', 80], ['st2', 80], ['st3', 80], ['st4', 80], ['st5', 80], ['st6', 80], ['st7', 80],
  ['xmm0', 128], ['xmm1', 128], ['xmm2', 128], ['xmm3', 128], ['xmm4', 128], ['xmm5', 128], ['xmm6', 128], ['xmm7', 128],
  ['xmm8', 128], ['xmm9', 128], ['xmm10', 128], ['xmm11', 128], ['xmm12', 128], ['xmm13', 128], ['xmm14', 128], ['xmm15', 128],
  ['mxcsr', 32],
] as const;
export type FpuName = (typeof FPU_FIELDS)[number][0];
/** struct kvm_fpu: st0..st7 are the 80-bit x87 registers, xmm0..xmm15 128-bit, little-endian values. */
export type Fpu = Record<FpuName, bigint>;

export const DEBUGREG_FIELDS = [['db0', 64], ['db1', 64], ['db2', 64], ['db3', 64], ['dr6', 64], ['dr7', 64]] as const;
export type DebugregName = (typeof DEBUGREG_FIELDS)[number][0];
/** struct kvm_debugregs (its flags are always 0) */
export type Debugregs = Record<DebugregName, bigint>;

/** struct kvm_xcr */
export interface Xcr { xcr: number; value: bigint }

/** struct kvm_msr_entry */
export interface MsrEntry { index: number; data: bigint }

/** struct kvm_cpuid_entry2 (`function` is the leaf, `index` the subleaf) */
export interface CpuidEntry {
  function: number; index: number; flags: number;
  eax: number; ebx: number; ecx: number; edx: number;
}
export const CPUID_REGISTERS = ['eax', 'ebx', 'ecx', 'edx'] as const;

/** struct kvm_vcpu_events, the parts the events file shows (u8 flags and counts, u32 error_code and sipi_vector). */
export interface VcpuEvents {
  exception: { injected: number; pending: number; nr: number; has_error_code: number; error_code: number };
  interrupt: { injected: number; nr: number; soft: number; shadow: number };
  nmi: { injected: number; pending: number; masked: number };
  sipi_vector: number;
  smi: { smm: number; pending: number; smm_inside_nmi: number; latched_init: number };
  /** KVM_VCPUEVENT_VALID_*: on a get, what KVM filled in; on a set, what it is to take */
  flags: number;
}

/** KVM_MP_STATE_* by value. */
export const MP_STATE_NAMES = [
  'runnable', 'uninitialized', 'init_received', 'halted', 'sipi_received', 'stopped',
  'check_stop', 'operating', 'load', 'ap_reset_hold', 'suspended',
] as const;
