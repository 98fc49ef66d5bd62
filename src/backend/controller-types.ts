// Plain-data views of the interrupt controllers, the PIT, the local APIC and
// the binary stats, decoded by the backend and rendered by src/fs/format.
// Each table lists fields in the order the files show them, with their
// width in bits as the C struct (or the hardware register) has it.

/** struct kvm_pic_state (all u8): irr, imr, isr first, then the rest in struct order. */
export const PIC_FIELDS = {
  irr: 8, imr: 8, isr: 8, last_irr: 8, priority_add: 8, irq_base: 8, read_reg_select: 8, poll: 8,
  special_mask: 8, init_state: 8, auto_eoi: 8, rotate_on_auto_eoi: 8, special_fully_nested_mode: 8,
  init4: 8, elcr: 8, elcr_mask: 8,
} as const;
export type PicField = keyof typeof PIC_FIELDS;
export type PicState = Record<PicField, number>;

/** The bit fields of one IOAPIC redirection table entry (union kvm_ioapic_state.redirtbl[n].fields). */
export const REDIRECTION_FIELDS = {
  vector: 8, delivery_mode: 3, dest_mode: 1, mask: 1, trig_mode: 1, remote_irr: 1, dest_id: 8,
  delivery_status: 1, polarity: 1,
} as const;
export type RedirectionField = keyof typeof REDIRECTION_FIELDS;
export type RedirectionEntry = Record<RedirectionField, number>;

export const IOAPIC_PINS = 24;

/** struct kvm_ioapic_state */
export interface IoapicState {
  base_address: bigint;
  id: number;       // u32
  irr: number;      // u32
  ioregsel: number; // u32
  pins: RedirectionEntry[]; // IOAPIC_PINS entries
}

/** The in-kernel irqchip's parts, as KVM_GET/SET_IRQCHIP names them by chip_id. */
export interface IrqchipStates {
  pic_master: PicState;
  pic_slave: PicState;
  ioapic: IoapicState;
}
export type IrqchipName = keyof IrqchipStates;

/** struct kvm_pit_channel_state: count, mode and gate first, then the rest in struct order. */
export const PIT_CHANNEL_FIELDS = {
  count: 32, mode: 8, gate: 8, latched_count: 16, count_latched: 8, status_latched: 8, status: 8,
  read_state: 8, write_state: 8, write_latch: 8, rw_mode: 8, bcd: 8, count_load_time: 64,
} as const;
export type PitChannelField = keyof typeof PIT_CHANNEL_FIELDS;
/** count_load_time (s64 ns, ktime) is kept as its 64 bits, unsigned. */
export type PitChannel = Record<Exclude<PitChannelField, 'count_load_time'>, number> & { count_load_time: bigint };
export const PIT_CHANNELS = 3;

/** struct kvm_pit_state2 */
export interface PitState {
  channels: PitChannel[]; // PIT_CHANNELS entries
  flags: number;          // u32
}

/**
 * The local APIC registers of the 1 KiB page struct kvm_lapic_state holds,
 * in the lapic file's order. `at` is the register's offset in the page; a
 * register of more than 32 bits is made of 32-bit words 16 bytes apart,
 * the lowest first (isr, tmr, irr: eight words) - except icr, whose high
 * word (0x310) is after its low word (0x300) too.
 */
export const LAPIC_REGISTERS = {
  id: { at: 0x20, bits: 32 },
  version: { at: 0x30, bits: 32 },
  tpr: { at: 0x80, bits: 32 },
  apr: { at: 0x90, bits: 32 },
  ppr: { at: 0xa0, bits: 32 },
  ldr: { at: 0xd0, bits: 32 },
  dfr: { at: 0xe0, bits: 32 },
  svr: { at: 0xf0, bits: 32 },
  isr: { at: 0x100, bits: 256 },
  tmr: { at: 0x180, bits: 256 },
  irr: { at: 0x200, bits: 256 },
  esr: { at: 0x280, bits: 32 },
  icr: { at: 0x300, bits: 64 },
  lvt_timer: { at: 0x320, bits: 32 },
  lvt_thermal: { at: 0x330, bits: 32 },
  lvt_perf: { at: 0x340, bits: 32 },
  lvt_lint0: { at: 0x350, bits: 32 },
  lvt_lint1: { at: 0x360, bits: 32 },
  lvt_error: { at: 0x370, bits: 32 },
  timer_initial: { at: 0x380, bits: 32 },
  timer_current: { at: 0x390, bits: 32 },
  timer_divide: { at: 0x3e0, bits: 32 },
} as const;
export type LapicRegister = keyof typeof LAPIC_REGISTERS;
export type LapicState = Record<LapicRegister, bigint>;

/**
 * struct kvm_lapic_state: the whole page (which holds more than the
 * registers above, kept as it is on a write back) and its registers.
 */
export interface LapicPage {
  bytes: Uint8Array;
  registers: LapicState;
}

/** One statistic of a KVM binary stats fd: a counter has one value, a histogram one per bucket. */
export interface Stat {
  name: string;
  values: bigint[];
}
