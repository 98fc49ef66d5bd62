// The debugging ABI pinned to <linux/kvm.h> (x86-64): the numbers below were
// printed by a C program including the header.
import { describe, expect, it } from 'vitest';
import koffi from 'koffi';
import { debugIoctls, guestDebugFlags, guestDebugOffsets, KVM_GUEST_DEBUG_SIZE, kvm_guest_debug, kvm_translation } from '../../../../src/backend/kvm/abi-debug.js';

describe('debug ioctls', () => {
  it('numbers', () => {
    expect(debugIoctls).toEqual({ KVM_TRANSLATE: 0xc018ae85, KVM_SET_GUEST_DEBUG: 0x4048ae9b });
  });

  it('control flags', () => {
    expect(guestDebugFlags).toEqual({
      KVM_GUESTDBG_ENABLE: 0x1, KVM_GUESTDBG_SINGLESTEP: 0x2, KVM_GUESTDBG_USE_SW_BP: 0x10000, KVM_GUESTDBG_USE_HW_BP: 0x20000,
    });
  });

  it('struct layouts', () => {
    expect(KVM_GUEST_DEBUG_SIZE).toBe(72);
    expect(koffi.offsetof(kvm_guest_debug, 'debugreg')).toBe(guestDebugOffsets.debugreg);
    expect(guestDebugOffsets.debugreg).toBe(8);
    expect(koffi.sizeof(kvm_translation)).toBe(24);
    expect(koffi.offsetof(kvm_translation, 'physical_address')).toBe(8);
    expect(koffi.offsetof(kvm_translation, 'valid')).toBe(16);
    expect(koffi.offsetof(kvm_translation, 'usermode')).toBe(18);
  });
});
