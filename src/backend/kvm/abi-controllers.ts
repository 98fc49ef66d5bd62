// The KVM ABI of the interrupt controllers, timers, VM clock and binary
// stats, as <linux/kvm.h> defines it for x86-64. The structs are marshalled
// as bytes by codec-controllers.ts; the koffi definitions here state the
// layouts, and test/unit/backend/kvm/abi-controllers.test.ts pins numbers
// and layouts to the values the C header gives.
import koffi from 'koffi';

const KVMIO = 0xae;
const IOC_WRITE = 1;
const IOC_READ = 2;
const io = (nr: number): number => (KVMIO << 8) | nr;
const ioc = (dir: number, nr: number, size: number): number =>
  ((dir << 30) | (size << 16) | (KVMIO << 8) | nr) >>> 0;

export const kvm_pic_state = koffi.struct('kvm_pic_state', {
  last_irr: 'uint8_t', irr: 'uint8_t', imr: 'uint8_t', isr: 'uint8_t',
  priority_add: 'uint8_t', irq_base: 'uint8_t', read_reg_select: 'uint8_t', poll: 'uint8_t',
  special_mask: 'uint8_t', init_state: 'uint8_t', auto_eoi: 'uint8_t', rotate_on_auto_eoi: 'uint8_t',
  special_fully_nested_mode: 'uint8_t', init4: 'uint8_t', elcr: 'uint8_t', elcr_mask: 'uint8_t',
});

export const KVM_IOAPIC_NUM_PINS = 24;

/** The redirection table entries are a union of a u64 and bit fields: kept as the u64. */
export const kvm_ioapic_state = koffi.struct('kvm_ioapic_state', {
  base_address: 'uint64_t', ioregsel: 'uint32_t', id: 'uint32_t', irr: 'uint32_t', pad: 'uint32_t',
  redirtbl: koffi.array('uint64_t', KVM_IOAPIC_NUM_PINS, 'Array'),
});

/** The chip union is 512 bytes (char dummy[512]). */
export const kvm_irqchip = koffi.struct('kvm_irqchip', {
  chip_id: 'uint32_t', pad: 'uint32_t', chip: koffi.array('uint8_t', 512),
});
export const KVM_IRQCHIP_PIC_MASTER = 0;
export const KVM_IRQCHIP_PIC_SLAVE = 1;
export const KVM_IRQCHIP_IOAPIC = 2;

export const kvm_irq_level = koffi.struct('kvm_irq_level', { irq: 'uint32_t', level: 'uint32_t' });

export const kvm_pit_config = koffi.struct('kvm_pit_config', {
  flags: 'uint32_t', pad: koffi.array('uint32_t', 15),
});

export const kvm_pit_channel_state = koffi.struct('kvm_pit_channel_state', {
  count: 'uint32_t', latched_count: 'uint16_t', count_latched: 'uint8_t', status_latched: 'uint8_t',
  status: 'uint8_t', read_state: 'uint8_t', write_state: 'uint8_t', write_latch: 'uint8_t',
  rw_mode: 'uint8_t', mode: 'uint8_t', bcd: 'uint8_t', gate: 'uint8_t', count_load_time: 'int64_t',
});

export const kvm_pit_state2 = koffi.struct('kvm_pit_state2', {
  channels: koffi.array(kvm_pit_channel_state, 3, 'Array'), flags: 'uint32_t', reserved: koffi.array('uint32_t', 9),
});

export const kvm_clock_data = koffi.struct('kvm_clock_data', {
  clock: 'uint64_t', flags: 'uint32_t', pad0: 'uint32_t', realtime: 'uint64_t', host_tsc: 'uint64_t',
  pad: koffi.array('uint32_t', 4),
});

export const KVM_APIC_REG_SIZE = 0x400;
export const kvm_lapic_state = koffi.struct('kvm_lapic_state', { regs: koffi.array('uint8_t', KVM_APIC_REG_SIZE) });

export const kvm_stats_header = koffi.struct('kvm_stats_header', {
  flags: 'uint32_t', name_size: 'uint32_t', num_desc: 'uint32_t',
  id_offset: 'uint32_t', desc_offset: 'uint32_t', data_offset: 'uint32_t',
});

/** Followed by `name_size` bytes of NUL-terminated name (a flexible array member). */
export const kvm_stats_desc = koffi.struct('kvm_stats_desc', {
  flags: 'uint32_t', exponent: 'int16_t', size: 'uint16_t', offset: 'uint32_t', bucket_size: 'uint32_t',
});

export const controllerIoctls = {
  KVM_SET_IDENTITY_MAP_ADDR: ioc(IOC_WRITE, 0x48, 8),
  KVM_CREATE_IRQCHIP: io(0x60),
  KVM_IRQ_LINE: ioc(IOC_WRITE, 0x61, koffi.sizeof(kvm_irq_level)),
  // _IOWR and _IOR as <linux/kvm.h> declares them (the directions of SET_IRQCHIP are historical)
  KVM_GET_IRQCHIP: ioc(IOC_READ | IOC_WRITE, 0x62, koffi.sizeof(kvm_irqchip)),
  KVM_SET_IRQCHIP: ioc(IOC_READ, 0x63, koffi.sizeof(kvm_irqchip)),
  KVM_CREATE_PIT2: ioc(IOC_WRITE, 0x77, koffi.sizeof(kvm_pit_config)),
  KVM_SET_CLOCK: ioc(IOC_WRITE, 0x7b, koffi.sizeof(kvm_clock_data)),
  KVM_GET_CLOCK: ioc(IOC_READ, 0x7c, koffi.sizeof(kvm_clock_data)),
  KVM_GET_LAPIC: ioc(IOC_READ, 0x8e, koffi.sizeof(kvm_lapic_state)),
  KVM_SET_LAPIC: ioc(IOC_WRITE, 0x8f, koffi.sizeof(kvm_lapic_state)),
  KVM_GET_PIT2: ioc(IOC_READ, 0x9f, koffi.sizeof(kvm_pit_state2)),
  KVM_SET_PIT2: ioc(IOC_WRITE, 0xa0, koffi.sizeof(kvm_pit_state2)),
  KVM_GET_STATS_FD: io(0xce),
} as const;
