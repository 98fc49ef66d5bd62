// Plain-data views of KVM's structs, decoded by the backend and rendered by
// src/fs/format. Nothing here knows koffi or files.

export const REG_NAMES = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
  'rip', 'rflags',
] as const;
export type RegName = (typeof REG_NAMES)[number];
/** struct kvm_regs: every register is 64-bit. */
export type Regs = Record<RegName, bigint>;

export const SEGMENT_NAMES = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const;
export type SegmentName = (typeof SEGMENT_NAMES)[number];

/** struct kvm_segment, field order as in <linux/kvm.h>. */
export interface Segment {
  base: bigint;      // u64
  limit: number;     // u32
  selector: number;  // u16
  type: number;      // u8 (4 bits used)
  present: number;   // u8 flag
  dpl: number;       // u8 (0..3)
  db: number;        // u8 flag
  s: number;         // u8 flag
  l: number;         // u8 flag
  g: number;         // u8 flag
  avl: number;       // u8 flag
  unusable: number;  // u8 flag
}
export type SegmentField = keyof Segment;

export const DTABLE_NAMES = ['gdt', 'idt'] as const;
export type DtableName = (typeof DTABLE_NAMES)[number];
/** struct kvm_dtable */
export interface Dtable {
  base: bigint;  // u64
  limit: number; // u16
}

export const CONTROL_REG_NAMES = ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'apic_base'] as const;
export type ControlRegName = (typeof CONTROL_REG_NAMES)[number];

/** struct kvm_sregs */
export type Sregs = Record<SegmentName, Segment> & Record<DtableName, Dtable> &
  Record<ControlRegName, bigint> & {
    /** 256 bits of pending external interrupts, four u64 words. */
    interrupt_bitmap: [bigint, bigint, bigint, bigint];
  };

/**
 * Why KVM_RUN came back, decoded from struct kvm_run. One variant per
 * KVM_EXIT_* reason the contract names; everything else is `unknown`.
 */
export type VcpuExit =
  | { kind: 'io'; direction: 'in' | 'out'; port: number; size: number; count: number;
      /** out only: `count` little-endian elements of `size` bytes */
      data?: bigint[] }
  | { kind: 'mmio'; isWrite: boolean; addr: bigint; len: number;
      /** write only: `len` bytes, little-endian */
      data?: bigint }
  | { kind: 'hlt' }
  | { kind: 'shutdown' }
  | { kind: 'fail_entry'; reason: bigint; cpu: number }
  | { kind: 'internal_error'; suberror: number }
  | { kind: 'debug'; pc: bigint; exception: number; dr6: bigint; dr7: bigint }
  /** the run was stopped (stop file or run time limit) */
  | { kind: 'intr' }
  | { kind: 'system_event'; type: number; flags: bigint }
  | { kind: 'unknown'; reason: number; hardwareExitReason?: bigint };

/** The data a guest reads after an `io in` or `mmio read` exit. */
export type ExitInput = { values: bigint[] };
