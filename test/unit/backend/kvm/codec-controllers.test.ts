// The byte codecs of the controller structs must agree with koffi's
// definitions of the same structs (whose layouts abi-controllers.test.ts
// pins to the C header), and the redirection-entry and APIC-page layouts
// with the hardware's.
import { describe, expect, it } from 'vitest';
import koffi from 'koffi';
import { kvm_ioapic_state, kvm_pic_state, kvm_pit_state2, kvm_stats_desc, kvm_stats_header } from '../../../../src/backend/kvm/abi-controllers.js';
import {
  decodeIoapic, decodeLapic, decodePic, decodePit, decodeRedirection, encodeIoapic, encodeLapic, encodePic, encodePit,
  encodeRedirection, LAPIC_STATE_SIZE, PIT_STATE2_SIZE,
} from '../../../../src/backend/kvm/codec-controllers.js';
import { decodeStatDescriptors, decodeStatsHeader, decodeStatValues } from '../../../../src/backend/kvm/stats-fd.js';
import type { IoapicState, LapicState, PicState, PitState, RedirectionEntry } from '../../../../src/backend/controller-types.js';

function koffiBytes(type: ReturnType<typeof koffi.struct>, value: object): Buffer {
  const bytes = Buffer.alloc(koffi.sizeof(type));
  koffi.encode(bytes, type, value);
  return bytes;
}
const viewOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

const pic: PicState = {
  last_irr: 1, irr: 2, imr: 0xfe, isr: 4, priority_add: 5, irq_base: 0x20, read_reg_select: 1, poll: 0,
  special_mask: 1, init_state: 0, auto_eoi: 1, rotate_on_auto_eoi: 0, special_fully_nested_mode: 1,
  init4: 1, elcr: 0x0c, elcr_mask: 0xf8,
};

describe('struct kvm_pic_state', () => {
  it('encodes as koffi does, and decodes it back', () => {
    const view = new DataView(new ArrayBuffer(16));
    encodePic(pic, view, 0);
    expect(Buffer.from(view.buffer)).toEqual(koffiBytes(kvm_pic_state, pic));
    expect(decodePic(view, 0)).toEqual(pic);
  });
});

const entry = (pin: number): RedirectionEntry => ({
  vector: 0x20 + pin, delivery_mode: pin % 8, dest_mode: pin & 1, mask: (pin >> 1) & 1, trig_mode: (pin >> 2) & 1,
  remote_irr: (pin >> 3) & 1, dest_id: 0xf0 + (pin % 16), delivery_status: (pin >> 4) & 1, polarity: pin & 1,
});

describe('IOAPIC redirection entries', () => {
  it.each([
    ['vector', { vector: 0xff }, 0xffn],
    ['delivery_mode', { delivery_mode: 7 }, 0x700n],
    ['dest_mode', { dest_mode: 1 }, 0x800n],
    ['delivery_status', { delivery_status: 1 }, 0x1000n],
    ['polarity', { polarity: 1 }, 0x2000n],
    ['remote_irr', { remote_irr: 1 }, 0x4000n],
    ['trig_mode', { trig_mode: 1 }, 0x8000n],
    ['mask', { mask: 1 }, 0x10000n],
    ['dest_id', { dest_id: 0xab }, 0xab00000000000000n],
  ] as const)('%s sits where the hardware has it', (_name, fields, bits) => {
    const zero = decodeRedirection(0n);
    expect(encodeRedirection({ ...zero, ...fields })).toBe(bits);
    expect(decodeRedirection(bits)).toEqual({ ...zero, ...fields });
  });

  it('reserved bits read as nothing and are written as zero', () => {
    expect(encodeRedirection(decodeRedirection(0x00fffffffffe0000n))).toBe(0n);
  });
});

describe('struct kvm_ioapic_state', () => {
  const ioapic: IoapicState = {
    base_address: 0xfec00000n, ioregsel: 0x10, id: 0x01000000, irr: 0x00000004,
    pins: Array.from({ length: 24 }, (_, pin) => entry(pin)),
  };

  it('encodes as koffi does, and decodes it back', () => {
    const view = new DataView(new ArrayBuffer(216));
    encodeIoapic(ioapic, view, 0);
    const asKoffi = { ...ioapic, pad: 0, redirtbl: ioapic.pins.map(encodeRedirection) };
    expect(Buffer.from(view.buffer)).toEqual(koffiBytes(kvm_ioapic_state, asKoffi));
    expect(decodeIoapic(view, 0)).toEqual(ioapic);
  });
});

describe('struct kvm_pit_state2', () => {
  const channel = (i: number) => ({
    count: 0x10000 - i, latched_count: 0x1234 + i, count_latched: 1, status_latched: 0, status: 0x34 + i,
    read_state: 3, write_state: 1, write_latch: 0x9c, rw_mode: 3, mode: 2 + i, bcd: 0, gate: 1,
    count_load_time: 0x8000000000000000n + BigInt(i),
  });
  const pit: PitState = { channels: [channel(0), channel(1), channel(2)], flags: 1 };

  it('encodes as koffi does (count_load_time is an s64: its bits), and decodes it back', () => {
    const view = new DataView(new ArrayBuffer(PIT_STATE2_SIZE));
    encodePit(pit, view);
    const asKoffi = {
      flags: 1, reserved: new Array(9).fill(0),
      channels: pit.channels.map((c) => ({ ...c, count_load_time: BigInt.asIntN(64, c.count_load_time) })),
    };
    expect(Buffer.from(view.buffer)).toEqual(koffiBytes(kvm_pit_state2, asKoffi));
    expect(decodePit(view)).toEqual(pit);
  });
});

describe('the local APIC page', () => {
  it.each([
    ['id', 0x20, 0x0a000000n],
    ['svr', 0xf0, 0x1ffn],
    ['lvt_lint0', 0x350, 0x700n],
    ['timer_divide', 0x3e0, 0xbn],
  ] as const)('%s is the 32-bit word at %i', (name, at, value) => {
    const page = new Uint8Array(LAPIC_STATE_SIZE);
    viewOf(page).setUint32(at, Number(value), true);
    expect(decodeLapic(viewOf(page))[name]).toBe(value);
  });

  it('isr, tmr and irr: eight words 16 bytes apart, the lowest first; icr: 0x300 low, 0x310 high', () => {
    const page = new Uint8Array(LAPIC_STATE_SIZE);
    const view = viewOf(page);
    view.setUint32(0x200, 0x00000001, true); // vector 0
    view.setUint32(0x210, 0x00000002, true); // vector 33
    view.setUint32(0x270, 0x80000000, true); // vector 255
    view.setUint32(0x300, 0x000040ff, true);
    view.setUint32(0x310, 0x01000000, true);
    const lapic = decodeLapic(view);
    expect(lapic.irr).toBe((1n << 255n) | (1n << 33n) | 1n);
    expect(lapic.icr).toBe(0x01000000000040ffn);
    expect(lapic.isr).toBe(0n);
  });

  it('encoding writes the registers and leaves the rest of the page as it was', () => {
    const page = new Uint8Array(LAPIC_STATE_SIZE).fill(0x5a);
    const lapic = decodeLapic(viewOf(page));
    const changed: LapicState = { ...lapic, tpr: 0x40n, irr: 1n << 49n, icr: 0x1122334455667788n };
    encodeLapic(changed, viewOf(page));
    expect(decodeLapic(viewOf(page))).toEqual(changed);
    expect(page[0x2f0]).toBe(0x5a); // lvt_cmci, not a register of the file
    expect(viewOf(page).getUint32(0x210, true)).toBe(0x00020000);
    expect(viewOf(page).getUint32(0x200, true)).toBe(0);
  });
});

describe('binary stats', () => {
  const NAME_SIZE = 48;
  const header = { flags: 0, name_size: NAME_SIZE, num_desc: 2, id_offset: 24, desc_offset: 72, data_offset: 200 };
  const descriptor = (fields: object, name: string) => {
    const bytes = Buffer.alloc(16 + NAME_SIZE);
    koffi.encode(bytes, kvm_stats_desc, fields);
    bytes.write(name, 16, 'latin1');
    return bytes;
  };

  it('decodes the header, the descriptors (names NUL-terminated) and the values of counters and histograms', () => {
    const layout = decodeStatsHeader(viewOf(koffiBytes(kvm_stats_header, header)));
    expect(layout).toEqual({ nameSize: NAME_SIZE, count: 2, descOffset: 72, dataOffset: 200 });
    const descriptors = decodeStatDescriptors(viewOf(Buffer.concat([
      descriptor({ flags: 0, exponent: 0, size: 1, offset: 0, bucket_size: 0 }, 'io_exits'),
      descriptor({ flags: 0x14, exponent: -9, size: 3, offset: 8, bucket_size: 0 }, 'halt_wait_hist'),
    ])), 2, NAME_SIZE);
    expect(descriptors).toEqual([
      { name: 'io_exits', flags: 0, exponent: 0, size: 1, offset: 0, bucketSize: 0 },
      { name: 'halt_wait_hist', flags: 0x14, exponent: -9, size: 3, offset: 8, bucketSize: 0 },
    ]);
    const data = new DataView(new ArrayBuffer(32));
    [7n, 1n, 0n, 0xffffffffffffffffn].forEach((value, i) => data.setBigUint64(i * 8, value, true));
    expect(decodeStatValues(data, descriptors)).toEqual([
      { name: 'io_exits', values: [7n] },
      { name: 'halt_wait_hist', values: [1n, 0n, 0xffffffffffffffffn] },
    ]);
  });
});
