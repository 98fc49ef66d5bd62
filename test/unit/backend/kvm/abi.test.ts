// The ABI kvmfs speaks, pinned to what <linux/kvm.h> (x86-64) gives: the
// expected numbers below were printed by a C program including the header.
import { describe, expect, it } from 'vitest';
import koffi from 'koffi';
import {
  exitReasons, ioctls, KVM_MEM_LOG_DIRTY_PAGES, KVM_RUN_SIZE, kvmRunOffsets, kvm_dirty_log, kvm_dtable,
  kvm_interrupt, kvm_regs, kvm_segment, kvm_sregs, kvm_userspace_memory_region,
} from '../../../../src/backend/kvm/abi.js';

describe('ioctl numbers', () => {
  it.each([
    ['KVM_GET_API_VERSION', 0xae00],
    ['KVM_CREATE_VM', 0xae01],
    ['KVM_CHECK_EXTENSION', 0xae03],
    ['KVM_GET_VCPU_MMAP_SIZE', 0xae04],
    ['KVM_CREATE_VCPU', 0xae41],
    ['KVM_GET_DIRTY_LOG', 0x4010ae42],
    ['KVM_SET_USER_MEMORY_REGION', 0x4020ae46],
    ['KVM_SET_TSS_ADDR', 0xae47],
    ['KVM_RUN', 0xae80],
    ['KVM_GET_REGS', 0x8090ae81],
    ['KVM_SET_REGS', 0x4090ae82],
    ['KVM_GET_SREGS', 0x8138ae83],
    ['KVM_SET_SREGS', 0x4138ae84],
    ['KVM_INTERRUPT', 0x4004ae86],
  ] as const)('%s = %i', (name, value) => {
    expect(ioctls[name]).toBe(value);
  });
});

describe('struct layouts', () => {
  it.each([
    ['kvm_regs', kvm_regs, 144],
    ['kvm_sregs', kvm_sregs, 312],
    ['kvm_segment', kvm_segment, 24],
    ['kvm_dtable', kvm_dtable, 16],
    ['kvm_userspace_memory_region', kvm_userspace_memory_region, 32],
    ['kvm_dirty_log', kvm_dirty_log, 16],
    ['kvm_interrupt', kvm_interrupt, 4],
  ] as const)('sizeof(struct %s) = %i', (_name, type, size) => {
    expect(koffi.sizeof(type)).toBe(size);
  });

  it.each([
    [kvm_sregs, 'cs', 0],
    [kvm_sregs, 'gdt', 192],
    [kvm_sregs, 'idt', 208],
    [kvm_sregs, 'cr0', 224],
    [kvm_sregs, 'apic_base', 272],
    [kvm_sregs, 'interrupt_bitmap', 280],
    [kvm_segment, 'base', 0],
    [kvm_segment, 'limit', 8],
    [kvm_segment, 'selector', 12],
    [kvm_segment, 'type', 14],
    [kvm_segment, 'unusable', 22],
    [kvm_userspace_memory_region, 'userspace_addr', 24],
    [kvm_dirty_log, 'dirty_bitmap', 8],
    [kvm_regs, 'rip', 128],
    [kvm_regs, 'rflags', 136],
  ] as const)('offsetof(%#, %s) = %i', (type, field, offset) => {
    expect(koffi.offsetof(type, field)).toBe(offset);
  });

  it('struct kvm_run fields', () => {
    expect(KVM_RUN_SIZE).toBe(2352);
    expect(kvmRunOffsets).toMatchObject({
      immediate_exit: 1,
      exit_reason: 8,
      io: { direction: 32, size: 33, port: 34, count: 36, data_offset: 40 },
      mmio: { phys_addr: 32, data: 40, len: 48, is_write: 52 },
      fail_entry: { hardware_entry_failure_reason: 32, cpu: 40 },
      internal: { suberror: 32, ndata: 36 },
      debug: { exception: 32, pc: 40, dr6: 48, dr7: 56 },
      system_event: { type: 32, flags: 40 },
    });
  });
});

describe('constants', () => {
  it('exit reasons', () => {
    expect(exitReasons).toMatchObject({
      KVM_EXIT_UNKNOWN: 0, KVM_EXIT_IO: 2, KVM_EXIT_DEBUG: 4, KVM_EXIT_HLT: 5, KVM_EXIT_MMIO: 6,
      KVM_EXIT_SHUTDOWN: 8, KVM_EXIT_FAIL_ENTRY: 9, KVM_EXIT_INTR: 10, KVM_EXIT_INTERNAL_ERROR: 17,
      KVM_EXIT_SYSTEM_EVENT: 24,
    });
  });

  it('KVM_MEM_LOG_DIRTY_PAGES', () => {
    expect(KVM_MEM_LOG_DIRTY_PAGES).toBe(1);
  });
});
