// struct kvm_regs and struct kvm_sregs as bytes: the vcpu ioctls
// fill and read a buffer shared with the JS main thread, which decodes it
// here, so a register snapshot crosses threads without being copied or
// serialized. Offsets follow <linux/kvm.h>; test/unit/backend/kvm/codec.test.ts
// checks them against koffi's struct definitions in abi.ts.
import { CONTROL_REG_NAMES, DTABLE_NAMES, REG_NAMES, SEGMENT_NAMES } from '../types.js';
import type { Dtable, Regs, Segment, Sregs } from '../types.js';

export const REGS_SIZE = 144;
export const SREGS_SIZE = 312;
const SEGMENT_SIZE = 24;
const DTABLE_SIZE = 16;
const DTABLES_AT = 192;
const CONTROL_REGS_AT = 224;
const INTERRUPT_BITMAP_AT = 280;
/** u8 fields of struct kvm_segment after base (u64), limit (u32), selector (u16) */
const SEGMENT_FLAGS = ['type', 'present', 'dpl', 'db', 's', 'l', 'g', 'avl', 'unusable'] as const;

export function decodeRegs(view: DataView): Regs {
  const regs = {} as Regs;
  REG_NAMES.forEach((name, i) => { regs[name] = view.getBigUint64(i * 8, true); });
  return regs;
}

export function encodeRegs(regs: Regs, view: DataView): void {
  REG_NAMES.forEach((name, i) => view.setBigUint64(i * 8, regs[name], true));
}

function decodeSegment(view: DataView, at: number): Segment {
  const segment = {
    base: view.getBigUint64(at, true),
    limit: view.getUint32(at + 8, true),
    selector: view.getUint16(at + 12, true),
  } as Segment;
  SEGMENT_FLAGS.forEach((name, i) => { segment[name] = view.getUint8(at + 14 + i); });
  return segment;
}

function encodeSegment(segment: Segment, view: DataView, at: number): void {
  view.setBigUint64(at, segment.base, true);
  view.setUint32(at + 8, segment.limit, true);
  view.setUint16(at + 12, segment.selector, true);
  SEGMENT_FLAGS.forEach((name, i) => view.setUint8(at + 14 + i, segment[name]));
  view.setUint8(at + 14 + SEGMENT_FLAGS.length, 0); // padding
}

function decodeDtable(view: DataView, at: number): Dtable {
  return { base: view.getBigUint64(at, true), limit: view.getUint16(at + 8, true) };
}

function encodeDtable(dtable: Dtable, view: DataView, at: number): void {
  view.setBigUint64(at, dtable.base, true);
  view.setUint16(at + 8, dtable.limit, true);
  for (let pad = at + 10; pad < at + DTABLE_SIZE; pad++) view.setUint8(pad, 0);
}

export function decodeSregs(view: DataView): Sregs {
  const sregs = {} as Sregs;
  SEGMENT_NAMES.forEach((name, i) => { sregs[name] = decodeSegment(view, i * SEGMENT_SIZE); });
  DTABLE_NAMES.forEach((name, i) => { sregs[name] = decodeDtable(view, DTABLES_AT + i * DTABLE_SIZE); });
  CONTROL_REG_NAMES.forEach((name, i) => { sregs[name] = view.getBigUint64(CONTROL_REGS_AT + i * 8, true); });
  sregs.interrupt_bitmap = [0, 1, 2, 3].map((i) => view.getBigUint64(INTERRUPT_BITMAP_AT + i * 8, true)) as Sregs['interrupt_bitmap'];
  return sregs;
}

export function encodeSregs(sregs: Sregs, view: DataView): void {
  SEGMENT_NAMES.forEach((name, i) => encodeSegment(sregs[name], view, i * SEGMENT_SIZE));
  DTABLE_NAMES.forEach((name, i) => encodeDtable(sregs[name], view, DTABLES_AT + i * DTABLE_SIZE));
  CONTROL_REG_NAMES.forEach((name, i) => view.setBigUint64(CONTROL_REGS_AT + i * 8, sregs[name], true));
  sregs.interrupt_bitmap.forEach((word, i) => view.setBigUint64(INTERRUPT_BITMAP_AT + i * 8, word, true));
}
