// The debugging part of the KVM ABI (x86-64): KVM_SET_GUEST_DEBUG and
// KVM_TRANSLATE, their structs, and the bits of struct kvm_guest_debug.
// test/unit/backend/kvm/abi-debug.test.ts pins them to <linux/kvm.h>.
import koffi from 'koffi';

const KVMIO = 0xae;
const ioc = (dir: number, nr: number, size: number): number =>
  ((dir << 30) | (size << 16) | (KVMIO << 8) | nr) >>> 0;

/** struct kvm_guest_debug: control, pad, then struct kvm_guest_debug_arch { __u64 debugreg[8]; }. */
export const kvm_guest_debug = koffi.struct('kvm_guest_debug', {
  control: 'uint32_t', pad: 'uint32_t', debugreg: koffi.array('uint64_t', 8, 'Array'),
});

export const kvm_translation = koffi.struct('kvm_translation', {
  linear_address: 'uint64_t', physical_address: 'uint64_t',
  valid: 'uint8_t', writeable: 'uint8_t', usermode: 'uint8_t', pad: koffi.array('uint8_t', 5, 'Array'),
});

export const debugIoctls = {
  /** _IOWR(KVMIO, 0x85, struct kvm_translation) */
  KVM_TRANSLATE: ioc(3, 0x85, koffi.sizeof(kvm_translation)),
  /** _IOW(KVMIO, 0x9b, struct kvm_guest_debug) */
  KVM_SET_GUEST_DEBUG: ioc(1, 0x9b, koffi.sizeof(kvm_guest_debug)),
} as const;

/** kvm_guest_debug.control bits */
export const guestDebugFlags = {
  KVM_GUESTDBG_ENABLE: 0x1,
  KVM_GUESTDBG_SINGLESTEP: 0x2,
  KVM_GUESTDBG_USE_SW_BP: 0x10000,
  KVM_GUESTDBG_USE_HW_BP: 0x20000,
} as const;

export const KVM_GUEST_DEBUG_SIZE = koffi.sizeof(kvm_guest_debug);
/** Byte offsets in struct kvm_guest_debug. */
export const guestDebugOffsets = { control: 0, debugreg: 8 } as const;
