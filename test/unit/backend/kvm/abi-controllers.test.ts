// The controller ABI pinned to <linux/kvm.h> (x86-64): the expected numbers
// below were printed by a C program including the header (sizeof, offsetof,
// and the ioctl macros).
import { describe, expect, it } from 'vitest';
import koffi from 'koffi';
import {
  controllerIoctls, KVM_IOAPIC_NUM_PINS, KVM_IRQCHIP_IOAPIC, KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
  kvm_clock_data, kvm_ioapic_state, kvm_irq_level, kvm_irqchip, kvm_lapic_state, kvm_pic_state, kvm_pit_channel_state,
  kvm_pit_config, kvm_pit_state2, kvm_stats_desc, kvm_stats_header,
} from '../../../../src/backend/kvm/abi-controllers.js';
import { CLOCK_DATA_SIZE, IRQCHIP_CHIP_AT, IRQCHIP_SIZE, LAPIC_STATE_SIZE, PIT_STATE2_SIZE } from '../../../../src/backend/kvm/codec-controllers.js';

describe('ioctl numbers', () => {
  it.each([
    ['KVM_CREATE_IRQCHIP', 0xae60],
    ['KVM_IRQ_LINE', 0x4008ae61],
    ['KVM_GET_IRQCHIP', 0xc208ae62],
    ['KVM_SET_IRQCHIP', 0x8208ae63],
    ['KVM_CREATE_PIT2', 0x4040ae77],
    ['KVM_GET_PIT2', 0x8070ae9f],
    ['KVM_SET_PIT2', 0x4070aea0],
    ['KVM_GET_CLOCK', 0x8030ae7c],
    ['KVM_SET_CLOCK', 0x4030ae7b],
    ['KVM_SET_IDENTITY_MAP_ADDR', 0x4008ae48],
    ['KVM_GET_LAPIC', 0x8400ae8e],
    ['KVM_SET_LAPIC', 0x4400ae8f],
    ['KVM_GET_STATS_FD', 0xaece],
  ] as const)('%s = %i', (name, value) => {
    expect(controllerIoctls[name]).toBe(value);
  });
});

describe('struct layouts', () => {
  it.each([
    ['kvm_irqchip', kvm_irqchip, 520],
    ['kvm_pic_state', kvm_pic_state, 16],
    ['kvm_ioapic_state', kvm_ioapic_state, 216],
    ['kvm_irq_level', kvm_irq_level, 8],
    ['kvm_pit_config', kvm_pit_config, 64],
    ['kvm_pit_state2', kvm_pit_state2, 112],
    ['kvm_pit_channel_state', kvm_pit_channel_state, 24],
    ['kvm_clock_data', kvm_clock_data, 48],
    ['kvm_lapic_state', kvm_lapic_state, 1024],
    ['kvm_stats_header', kvm_stats_header, 24],
    ['kvm_stats_desc', kvm_stats_desc, 16],
  ] as const)('sizeof(struct %s) = %i', (_name, type, size) => {
    expect(koffi.sizeof(type)).toBe(size);
  });

  it.each([
    [kvm_irqchip, 'chip', 8],
    [kvm_ioapic_state, 'id', 12],
    [kvm_ioapic_state, 'irr', 16],
    [kvm_ioapic_state, 'redirtbl', 24],
    [kvm_pit_channel_state, 'latched_count', 4],
    [kvm_pit_channel_state, 'gate', 15],
    [kvm_pit_channel_state, 'count_load_time', 16],
    [kvm_pit_state2, 'flags', 72],
    [kvm_clock_data, 'flags', 8],
    [kvm_clock_data, 'realtime', 16],
    [kvm_clock_data, 'host_tsc', 24],
    [kvm_stats_desc, 'bucket_size', 12],
  ] as const)('offsetof(%#, %s) = %i', (type, field, offset) => {
    expect(koffi.offsetof(type, field)).toBe(offset);
  });

  it('the byte codecs use the same sizes', () => {
    expect([IRQCHIP_SIZE, IRQCHIP_CHIP_AT, PIT_STATE2_SIZE, CLOCK_DATA_SIZE, LAPIC_STATE_SIZE]).toEqual([
      koffi.sizeof(kvm_irqchip), koffi.offsetof(kvm_irqchip, 'chip'), koffi.sizeof(kvm_pit_state2),
      koffi.sizeof(kvm_clock_data), koffi.sizeof(kvm_lapic_state),
    ]);
  });
});

describe('constants', () => {
  it('chip ids and pins', () => {
    expect([KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC, KVM_IOAPIC_NUM_PINS]).toEqual([0, 1, 2, 24]);
  });
});
