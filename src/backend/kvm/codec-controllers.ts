// The structs of abi-controllers.ts as bytes, decoded into the plain data of
// controller-types.ts and encoded back. Offsets follow <linux/kvm.h>;
// test/unit/backend/kvm/codec-controllers.test.ts checks them against
// koffi's definitions of the same structs.
import {
  IOAPIC_PINS, LAPIC_REGISTERS, PIC_FIELDS, PIT_CHANNELS, REDIRECTION_FIELDS,
  type IoapicState, type LapicState, type PicField, type PicState, type PitChannel,
  type PitState, type RedirectionEntry, type RedirectionField,
} from '../controller-types.js';

export const IRQCHIP_SIZE = 520;
/** struct kvm_irqchip: the chip union follows chip_id and pad */
export const IRQCHIP_CHIP_AT = 8;
export const PIT_STATE2_SIZE = 112;
export const CLOCK_DATA_SIZE = 48;
export const LAPIC_STATE_SIZE = 1024;

const PIC_OFFSETS: Record<PicField, number> = {
  last_irr: 0, irr: 1, imr: 2, isr: 3, priority_add: 4, irq_base: 5, read_reg_select: 6, poll: 7,
  special_mask: 8, init_state: 9, auto_eoi: 10, rotate_on_auto_eoi: 11, special_fully_nested_mode: 12,
  init4: 13, elcr: 14, elcr_mask: 15,
};
const PIC_NAMES = Object.keys(PIC_FIELDS) as PicField[];

export function decodePic(view: DataView, at: number): PicState {
  const pic = {} as PicState;
  for (const name of PIC_NAMES) pic[name] = view.getUint8(at + PIC_OFFSETS[name]);
  return pic;
}

export function encodePic(pic: PicState, view: DataView, at: number): void {
  for (const name of PIC_NAMES) view.setUint8(at + PIC_OFFSETS[name], pic[name]);
}

/** Bit position of each field in the 64-bit redirection entry (the C bit fields, low bit first). */
const REDIRECTION_SHIFTS: Record<RedirectionField, number> = {
  vector: 0, delivery_mode: 8, dest_mode: 11, delivery_status: 12, polarity: 13, remote_irr: 14,
  trig_mode: 15, mask: 16, dest_id: 56,
};
const REDIRECTION_NAMES = Object.keys(REDIRECTION_FIELDS) as RedirectionField[];
const IOAPIC_REDIRTBL_AT = 24;

export function decodeRedirection(bits: bigint): RedirectionEntry {
  const entry = {} as RedirectionEntry;
  for (const name of REDIRECTION_NAMES) {
    entry[name] = Number((bits >> BigInt(REDIRECTION_SHIFTS[name])) & ((1n << BigInt(REDIRECTION_FIELDS[name])) - 1n));
  }
  return entry;
}

/** The entry's 64 bits; reserved bits are zero. */
export function encodeRedirection(entry: RedirectionEntry): bigint {
  let bits = 0n;
  for (const name of REDIRECTION_NAMES) {
    bits |= (BigInt(entry[name]) & ((1n << BigInt(REDIRECTION_FIELDS[name])) - 1n)) << BigInt(REDIRECTION_SHIFTS[name]);
  }
  return bits;
}

export function decodeIoapic(view: DataView, at: number): IoapicState {
  return {
    base_address: view.getBigUint64(at, true),
    ioregsel: view.getUint32(at + 8, true),
    id: view.getUint32(at + 12, true),
    irr: view.getUint32(at + 16, true),
    pins: Array.from({ length: IOAPIC_PINS }, (_, pin) =>
      decodeRedirection(view.getBigUint64(at + IOAPIC_REDIRTBL_AT + pin * 8, true))),
  };
}

export function encodeIoapic(ioapic: IoapicState, view: DataView, at: number): void {
  view.setBigUint64(at, ioapic.base_address, true);
  view.setUint32(at + 8, ioapic.ioregsel, true);
  view.setUint32(at + 12, ioapic.id, true);
  view.setUint32(at + 16, ioapic.irr, true);
  view.setUint32(at + 20, 0, true); // pad
  ioapic.pins.forEach((entry, pin) => view.setBigUint64(at + IOAPIC_REDIRTBL_AT + pin * 8, encodeRedirection(entry), true));
}

const PIT_CHANNEL_SIZE = 24;
const PIT_FLAGS_AT = 72;
/** The u8 fields of struct kvm_pit_channel_state, from offset 6 on. */
const PIT_CHANNEL_BYTES = [
  'count_latched', 'status_latched', 'status', 'read_state', 'write_state', 'write_latch', 'rw_mode', 'mode', 'bcd', 'gate',
] as const;

function decodePitChannel(view: DataView, at: number): PitChannel {
  const channel = {
    count: view.getUint32(at, true),
    latched_count: view.getUint16(at + 4, true),
    count_load_time: view.getBigUint64(at + 16, true),
  } as PitChannel;
  PIT_CHANNEL_BYTES.forEach((name, i) => { channel[name] = view.getUint8(at + 6 + i); });
  return channel;
}

function encodePitChannel(channel: PitChannel, view: DataView, at: number): void {
  view.setUint32(at, channel.count, true);
  view.setUint16(at + 4, channel.latched_count, true);
  PIT_CHANNEL_BYTES.forEach((name, i) => view.setUint8(at + 6 + i, channel[name]));
  view.setBigUint64(at + 16, channel.count_load_time, true);
}

export function decodePit(view: DataView): PitState {
  return {
    channels: Array.from({ length: PIT_CHANNELS }, (_, i) => decodePitChannel(view, i * PIT_CHANNEL_SIZE)),
    flags: view.getUint32(PIT_FLAGS_AT, true),
  };
}

/** Into a zeroed buffer (the reserved words stay zero). */
export function encodePit(pit: PitState, view: DataView): void {
  pit.channels.forEach((channel, i) => encodePitChannel(channel, view, i * PIT_CHANNEL_SIZE));
  view.setUint32(PIT_FLAGS_AT, pit.flags, true);
}

/** A register's 32-bit words in the APIC page, lowest first, 16 bytes apart. */
function registerWords(register: keyof typeof LAPIC_REGISTERS): number[] {
  const { at, bits } = LAPIC_REGISTERS[register];
  return Array.from({ length: bits / 32 }, (_, i) => at + i * 16);
}

const LAPIC_NAMES = Object.keys(LAPIC_REGISTERS) as Array<keyof typeof LAPIC_REGISTERS>;

export function decodeLapic(view: DataView): LapicState {
  const lapic = {} as LapicState;
  for (const name of LAPIC_NAMES) {
    lapic[name] = registerWords(name).reduceRight((value, at) => (value << 32n) | BigInt(view.getUint32(at, true)), 0n);
  }
  return lapic;
}

/** Writes the registers into the APIC page; the rest of the page is left as it is. */
export function encodeLapic(lapic: LapicState, view: DataView): void {
  for (const name of LAPIC_NAMES) {
    const value = lapic[name];
    registerWords(name).forEach((at, i) => view.setUint32(at, Number((value >> BigInt(32 * i)) & 0xffffffffn), true));
  }
}
