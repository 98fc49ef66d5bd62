// The KVM ABI as <linux/kvm.h> defines it for x86-64: ioctl numbers, exit
// reasons and struct layouts. test/unit/backend/abi.test.ts pins every number
// and layout here to the values the C header gives.
import koffi from 'koffi';

const KVMIO = 0xae;
const IOC_WRITE = 1;
const IOC_READ = 2;
export const io = (nr: number): number => (KVMIO << 8) | nr;
export const ioc = (dir: number, nr: number, size: number): number =>
  ((dir << 30) | (size << 16) | (KVMIO << 8) | nr) >>> 0;
export const ior = (nr: number, size: number) => ioc(IOC_READ, nr, size);
export const iow = (nr: number, size: number) => ioc(IOC_WRITE, nr, size);
export const iowr = (nr: number, size: number) => ioc(IOC_READ | IOC_WRITE, nr, size);

export const kvm_segment = koffi.struct('kvm_segment', {
  base: 'uint64_t', limit: 'uint32_t', selector: 'uint16_t',
  type: 'uint8_t', present: 'uint8_t', dpl: 'uint8_t', db: 'uint8_t',
  s: 'uint8_t', l: 'uint8_t', g: 'uint8_t', avl: 'uint8_t',
  unusable: 'uint8_t', padding: 'uint8_t',
});

export const kvm_dtable = koffi.struct('kvm_dtable', {
  base: 'uint64_t', limit: 'uint16_t', padding: koffi.array('uint16_t', 3),
});

export const kvm_regs = koffi.struct('kvm_regs', {
  rax: 'uint64_t', rbx: 'uint64_t', rcx: 'uint64_t', rdx: 'uint64_t',
  rsi: 'uint64_t', rdi: 'uint64_t', rsp: 'uint64_t', rbp: 'uint64_t',
  r8: 'uint64_t', r9: 'uint64_t', r10: 'uint64_t', r11: 'uint64_t',
  r12: 'uint64_t', r13: 'uint64_t', r14: 'uint64_t', r15: 'uint64_t',
  rip: 'uint64_t', rflags: 'uint64_t',
});

export const kvm_sregs = koffi.struct('kvm_sregs', {
  cs: kvm_segment, ds: kvm_segment, es: kvm_segment, fs: kvm_segment,
  gs: kvm_segment, ss: kvm_segment, tr: kvm_segment, ldt: kvm_segment,
  gdt: kvm_dtable, idt: kvm_dtable,
  cr0: 'uint64_t', cr2: 'uint64_t', cr3: 'uint64_t', cr4: 'uint64_t', cr8: 'uint64_t',
  efer: 'uint64_t', apic_base: 'uint64_t',
  interrupt_bitmap: koffi.array('uint64_t', 4, 'Array'),
});

export const kvm_userspace_memory_region = koffi.struct('kvm_userspace_memory_region', {
  slot: 'uint32_t', flags: 'uint32_t', guest_phys_addr: 'uint64_t',
  memory_size: 'uint64_t', userspace_addr: 'uint64_t',
});

export const kvm_dirty_log = koffi.struct('kvm_dirty_log', {
  slot: 'uint32_t', padding1: 'uint32_t', dirty_bitmap: 'void *',
});

export const kvm_interrupt = koffi.struct('kvm_interrupt', { irq: 'uint32_t' });

export const ioctls = {
  KVM_GET_API_VERSION: io(0x00),
  KVM_CREATE_VM: io(0x01),
  KVM_CHECK_EXTENSION: io(0x03),
  KVM_GET_VCPU_MMAP_SIZE: io(0x04),
  KVM_CREATE_VCPU: io(0x41),
  KVM_GET_DIRTY_LOG: iow(0x42, koffi.sizeof(kvm_dirty_log)),
  KVM_SET_USER_MEMORY_REGION: iow(0x46, koffi.sizeof(kvm_userspace_memory_region)),
  KVM_SET_TSS_ADDR: io(0x47),
  KVM_RUN: io(0x80),
  KVM_GET_REGS: ior(0x81, koffi.sizeof(kvm_regs)),
  KVM_SET_REGS: iow(0x82, koffi.sizeof(kvm_regs)),
  KVM_GET_SREGS: ior(0x83, koffi.sizeof(kvm_sregs)),
  KVM_SET_SREGS: iow(0x84, koffi.sizeof(kvm_sregs)),
  KVM_INTERRUPT: iow(0x86, koffi.sizeof(kvm_interrupt)),
} as const;

export const KVM_API_VERSION = 12;
export const KVM_MEM_LOG_DIRTY_PAGES = 1;

export const exitReasons = {
  KVM_EXIT_UNKNOWN: 0,
  KVM_EXIT_EXCEPTION: 1,
  KVM_EXIT_IO: 2,
  KVM_EXIT_HYPERCALL: 3,
  KVM_EXIT_DEBUG: 4,
  KVM_EXIT_HLT: 5,
  KVM_EXIT_MMIO: 6,
  KVM_EXIT_IRQ_WINDOW_OPEN: 7,
  KVM_EXIT_SHUTDOWN: 8,
  KVM_EXIT_FAIL_ENTRY: 9,
  KVM_EXIT_INTR: 10,
  KVM_EXIT_INTERNAL_ERROR: 17,
  KVM_EXIT_SYSTEM_EVENT: 24,
} as const;

export const KVM_EXIT_IO_IN = 0;
export const KVM_EXIT_IO_OUT = 1;

/**
 * struct kvm_run is read in place in the mmap'd page the vcpu shares with
 * the kernel, so only the offsets of the fields kvmfs reads are listed.
 */
export const kvmRunOffsets = {
  immediate_exit: 1,
  exit_reason: 8,
  /** union at 32 */
  io: { direction: 32, size: 33, port: 34, count: 36, data_offset: 40 },
  mmio: { phys_addr: 32, data: 40, len: 48, is_write: 52 },
  hw: { hardware_exit_reason: 32 },
  fail_entry: { hardware_entry_failure_reason: 32, cpu: 40 },
  internal: { suberror: 32, ndata: 36 },
  debug: { exception: 32, pc: 40 },
  system_event: { type: 32, ndata: 36, flags: 40 },
} as const;
export const KVM_RUN_SIZE = 2352;
