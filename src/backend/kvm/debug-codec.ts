// struct kvm_guest_debug <-> GuestDebug, and struct kvm_translation's
// answer. The hardware breakpoints are x86 debug registers: DR0-DR3 hold
// the addresses, DR7 enables them and gives each a type (R/W bits) and a
// length (LEN bits), as the Intel SDM (vol. 3, 18.2.4) lays it out.
import { guestDebugFlags as flags, guestDebugOffsets as off, KVM_GUEST_DEBUG_SIZE } from './abi-debug.js';
import type { BreakpointLength, BreakpointType, GuestDebug, HwBreakpoint, Translation } from '../guest-debug.js';

const { KVM_GUESTDBG_ENABLE, KVM_GUESTDBG_SINGLESTEP, KVM_GUESTDBG_USE_SW_BP, KVM_GUESTDBG_USE_HW_BP } = flags;

/** DR7 R/W codes, by type. */
const TYPE_CODES: Record<BreakpointType, bigint> = { exec: 0n, write: 1n, io: 2n, rw: 3n };
/** DR7 LEN codes, by length in bytes. */
const LENGTH_CODES: Record<BreakpointLength, bigint> = { 1: 0n, 2: 1n, 8: 2n, 4: 3n };
/** DR7.GE (exact breakpoints, recommended by the SDM) and bit 10, which reads as 1. */
const DR7_BASE = 0x600n;

const globalEnable = (slot: number) => 1n << BigInt(2 * slot + 1);
const typeShift = (slot: number) => BigInt(16 + 4 * slot);
const lengthShift = (slot: number) => BigInt(18 + 4 * slot);

/** The struct KVM_SET_GUEST_DEBUG takes for `debug`; everything off is control 0 (debugging disabled). */
export function encodeGuestDebug(debug: GuestDebug, target: DataView): void {
  new Uint8Array(target.buffer, target.byteOffset, KVM_GUEST_DEBUG_SIZE).fill(0);
  const anyHw = debug.hw.some((bp) => bp !== undefined);
  let control = 0;
  if (debug.singlestep) control |= KVM_GUESTDBG_SINGLESTEP;
  if (debug.swBreakpoints) control |= KVM_GUESTDBG_USE_SW_BP;
  if (anyHw) control |= KVM_GUESTDBG_USE_HW_BP;
  if (control !== 0) control |= KVM_GUESTDBG_ENABLE;
  target.setUint32(off.control, control >>> 0, true);
  if (!anyHw) return;
  let dr7 = DR7_BASE;
  debug.hw.forEach((bp, slot) => {
    if (!bp) return;
    target.setBigUint64(off.debugreg + 8 * slot, bp.addr, true);
    dr7 |= globalEnable(slot) | (TYPE_CODES[bp.type] << typeShift(slot)) | (LENGTH_CODES[bp.length] << lengthShift(slot));
  });
  target.setBigUint64(off.debugreg + 8 * 7, dr7, true);
}

export function decodeGuestDebug(source: DataView): GuestDebug {
  const control = source.getUint32(off.control, true);
  const dr7 = source.getBigUint64(off.debugreg + 8 * 7, true);
  const hw = [0, 1, 2, 3].map((slot): HwBreakpoint | undefined => {
    if ((control & KVM_GUESTDBG_USE_HW_BP) === 0 || (dr7 & globalEnable(slot)) === 0n) return undefined;
    const typeCode = (dr7 >> typeShift(slot)) & 3n;
    const lengthCode = (dr7 >> lengthShift(slot)) & 3n;
    return {
      addr: source.getBigUint64(off.debugreg + 8 * slot, true),
      type: keyOf(TYPE_CODES, typeCode),
      length: Number(keyOf(LENGTH_CODES, lengthCode)) as BreakpointLength,
    };
  });
  return {
    singlestep: (control & KVM_GUESTDBG_SINGLESTEP) !== 0,
    swBreakpoints: (control & KVM_GUESTDBG_USE_SW_BP) !== 0,
    hw,
  };
}

function keyOf<K extends string | number>(table: Record<K, bigint>, code: bigint): K {
  return (Object.keys(table) as K[]).find((key) => table[key] === code)!;
}

/** struct kvm_translation after KVM_TRANSLATE. */
export function decodeTranslation(source: DataView): Translation {
  return {
    linear: source.getBigUint64(0, true),
    physical: source.getBigUint64(8, true),
    valid: source.getUint8(16) !== 0,
    writeable: source.getUint8(17) !== 0,
    usermode: source.getUint8(18) !== 0,
  };
}
