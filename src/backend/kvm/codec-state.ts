// The vcpu state structs of abi-state.ts as bytes: the ioctls in vcpu.ts and
// system.ts fill and read these buffers. test/unit/backend/kvm/codec-state.test.ts
// checks each codec against hand-built bytes at the offsets <linux/kvm.h> gives.
import { MAX_CPUID_ENTRIES, MAX_XCRS, stateOffsets, stateSizes, XSTATE_X87_SSE } from './abi-state.js';
import { CPUID_REGISTERS, DEBUGREG_FIELDS, FPU_FIELDS } from '../types-state.js';
import type { CpuidEntry, Debugregs, Fpu, FpuName, MsrEntry, VcpuEvents, Xcr } from '../types-state.js';

const { kvm_fpu: FPU, xsave: XSAVE, kvm_vcpu_events: EVENTS } = stateOffsets;
/** Each st register sits in a 16-byte slot, each xmm register is 16 bytes. */
const SLOT = 16;

/** A little-endian unsigned integer of `bytes` bytes at `at`. */
function getUint(view: DataView, at: number, bytes: number): bigint {
  let value = 0n;
  for (let i = bytes - 1; i >= 0; i--) value = (value << 8n) | BigInt(view.getUint8(at + i));
  return value;
}

function setUint(view: DataView, at: number, bytes: number, value: bigint): void {
  for (let i = 0; i < bytes; i++) view.setUint8(at + i, Number((value >> BigInt(8 * i)) & 0xffn));
}

export function newView(size: number): DataView {
  return new DataView(new ArrayBuffer(size));
}

export function viewBytes(view: DataView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * Where each fpu register lives in a layout: struct kvm_fpu or the XSAVE
 * area's legacy region (the same registers, placed differently).
 */
type FpuLayout = Record<'fcw' | 'fsw' | 'ftwx' | 'last_opcode' | 'last_ip' | 'last_dp' | 'st' | 'xmm' | 'mxcsr', number>;
const KVM_FPU_LAYOUT: FpuLayout = { ...FPU, st: FPU.fpr };
const XSAVE_LAYOUT: FpuLayout = {
  fcw: XSAVE.fcw, fsw: XSAVE.fsw, ftwx: XSAVE.ftw, last_opcode: XSAVE.fop, last_ip: XSAVE.fip,
  last_dp: XSAVE.fdp, st: XSAVE.st, xmm: XSAVE.xmm, mxcsr: XSAVE.mxcsr,
};

/** Offset and size in bytes of register `name` in `layout`. */
function fpuPlace(layout: FpuLayout, name: FpuName, bits: number): [number, number] {
  const slot = /^(st|xmm)(\d+)$/.exec(name);
  if (slot) return [layout[slot[1] as 'st' | 'xmm'] + Number(slot[2]) * SLOT, bits / 8];
  return [layout[name as keyof FpuLayout], bits / 8];
}

function decodeFpuIn(view: DataView, layout: FpuLayout): Fpu {
  const fpu = {} as Fpu;
  for (const [name, bits] of FPU_FIELDS) fpu[name] = getUint(view, ...fpuPlace(layout, name, bits));
  return fpu;
}

function encodeFpuIn(fpu: Fpu, view: DataView, layout: FpuLayout): void {
  for (const [name, bits] of FPU_FIELDS) setUint(view, ...fpuPlace(layout, name, bits), fpu[name]);
}

export const decodeFpu = (view: DataView): Fpu => decodeFpuIn(view, KVM_FPU_LAYOUT);
export const encodeFpu = (fpu: Fpu, view: DataView): void => encodeFpuIn(fpu, view, KVM_FPU_LAYOUT);

/** The fpu registers in an XSAVE area (KVM_GET_XSAVE fills in init values for components in their init state). */
export const decodeXsaveFpu = (view: DataView): Fpu => decodeFpuIn(view, XSAVE_LAYOUT);

/**
 * `fpu` into an XSAVE area, with x87 and SSE marked present in XSTATE_BV:
 * a component whose bit is clear is loaded in its init state, whatever
 * its bytes say (which is why KVM_SET_FPU alone may not reach xmm).
 */
export function encodeXsaveFpu(fpu: Fpu, view: DataView): void {
  encodeFpuIn(fpu, view, XSAVE_LAYOUT);
  view.setBigUint64(XSAVE.xstateBv, view.getBigUint64(XSAVE.xstateBv, true) | XSTATE_X87_SSE, true);
}

export function decodeDebugregs(view: DataView): Debugregs {
  const regs = {} as Debugregs;
  DEBUGREG_FIELDS.forEach(([name], i) => { regs[name] = view.getBigUint64(i * 8, true); });
  return regs;
}

/** struct kvm_debugregs; flags and the reserved words stay 0, as KVM requires. */
export function encodeDebugregs(regs: Debugregs, view: DataView): void {
  DEBUGREG_FIELDS.forEach(([name], i) => view.setBigUint64(i * 8, regs[name], true));
}

export function decodeXcrs(view: DataView): Xcr[] {
  const count = Math.min(view.getUint32(stateOffsets.kvm_xcrs.nr_xcrs, true), MAX_XCRS);
  return Array.from({ length: count }, (_, i) => {
    const at = stateOffsets.kvm_xcrs.xcrs + i * stateSizes.kvm_xcr;
    return { xcr: view.getUint32(at, true), value: view.getBigUint64(at + stateOffsets.kvm_xcrs.xcrValue, true) };
  });
}

export function encodeXcrs(xcrs: Xcr[], view: DataView): void {
  view.setUint32(stateOffsets.kvm_xcrs.nr_xcrs, xcrs.length, true);
  xcrs.forEach(({ xcr, value }, i) => {
    const at = stateOffsets.kvm_xcrs.xcrs + i * stateSizes.kvm_xcr;
    view.setUint32(at, xcr, true);
    view.setBigUint64(at + stateOffsets.kvm_xcrs.xcrValue, value, true);
  });
}

/** struct kvm_msrs with `entries` (data 0 for a get). */
export function encodeMsrs(entries: Array<MsrEntry | number>, view = newView(stateSizes.kvm_msrs + entries.length * stateSizes.kvm_msr_entry)): DataView {
  view.setUint32(0, entries.length, true);
  entries.forEach((entry, i) => {
    const at = stateSizes.kvm_msrs + i * stateSizes.kvm_msr_entry;
    view.setUint32(at + stateOffsets.kvm_msr_entry.index, typeof entry === 'number' ? entry : entry.index, true);
    view.setBigUint64(at + stateOffsets.kvm_msr_entry.data, typeof entry === 'number' ? 0n : entry.data, true);
  });
  return view;
}

/** The first `count` entries of a struct kvm_msrs. */
export function decodeMsrs(view: DataView, count: number): MsrEntry[] {
  return Array.from({ length: count }, (_, i) => {
    const at = stateSizes.kvm_msrs + i * stateSizes.kvm_msr_entry;
    return { index: view.getUint32(at + stateOffsets.kvm_msr_entry.index, true), data: view.getBigUint64(at + stateOffsets.kvm_msr_entry.data, true) };
  });
}

/** A struct kvm_cpuid2 with room for `entries` (by default KVM_MAX_CPUID_ENTRIES), for the ioctls that fill one. */
export function newCpuid2(entries = MAX_CPUID_ENTRIES): DataView {
  const view = newView(stateSizes.kvm_cpuid2 + entries * stateSizes.kvm_cpuid_entry2);
  view.setUint32(0, entries, true);
  return view;
}

/**
 * The room sizes to offer KVM_GET_CPUID2, in order. KVM fails it with E2BIG,
 * without writing back how many it holds, while nent is below the vcpu's
 * table; KVM_SET_CPUID2 takes at most KVM_MAX_CPUID_ENTRIES, so the first
 * fits, and the rest (twice as much each) only serve a kernel that allows more.
 */
export function cpuid2Rooms(first = MAX_CPUID_ENTRIES, limit = 16 * MAX_CPUID_ENTRIES): number[] {
  const rooms: number[] = [];
  for (let room = Math.max(1, first); room <= limit; room *= 2) rooms.push(room);
  return rooms;
}

export function decodeCpuid2(view: DataView): CpuidEntry[] {
  const { kvm_cpuid_entry2: at } = stateOffsets;
  return Array.from({ length: view.getUint32(0, true) }, (_, i) => {
    const base = stateSizes.kvm_cpuid2 + i * stateSizes.kvm_cpuid_entry2;
    const entry = { function: view.getUint32(base + at.function, true), index: view.getUint32(base + at.index, true), flags: view.getUint32(base + at.flags, true) } as CpuidEntry;
    for (const reg of CPUID_REGISTERS) entry[reg] = view.getUint32(base + at[reg], true);
    return entry;
  });
}

export function encodeCpuid2(entries: CpuidEntry[]): DataView {
  const { kvm_cpuid_entry2: at } = stateOffsets;
  const view = newView(stateSizes.kvm_cpuid2 + entries.length * stateSizes.kvm_cpuid_entry2);
  view.setUint32(0, entries.length, true);
  entries.forEach((entry, i) => {
    const base = stateSizes.kvm_cpuid2 + i * stateSizes.kvm_cpuid_entry2;
    for (const field of ['function', 'index', 'flags', ...CPUID_REGISTERS] as const) view.setUint32(base + at[field], entry[field], true);
  });
  return view;
}

type EventGroup = 'exception' | 'interrupt' | 'nmi' | 'smi';
const EVENT_GROUPS: EventGroup[] = ['exception', 'interrupt', 'nmi', 'smi'];

export function decodeVcpuEvents(view: DataView): VcpuEvents {
  const events = { sipi_vector: view.getUint32(EVENTS.sipi_vector, true), flags: view.getUint32(EVENTS.flags, true) } as VcpuEvents;
  for (const group of EVENT_GROUPS) {
    const fields: Record<string, number> = {};
    for (const [field, at] of Object.entries(EVENTS[group])) {
      fields[field] = field === 'error_code' ? view.getUint32(at, true) : view.getUint8(at);
    }
    (events as unknown as Record<EventGroup, Record<string, number>>)[group] = fields;
  }
  return events;
}

export function encodeVcpuEvents(events: VcpuEvents, view: DataView): void {
  view.setUint32(EVENTS.sipi_vector, events.sipi_vector, true);
  view.setUint32(EVENTS.flags, events.flags, true);
  for (const group of EVENT_GROUPS) {
    const fields = events[group] as Record<string, number>;
    for (const [field, at] of Object.entries(EVENTS[group])) {
      if (field === 'error_code') view.setUint32(at, fields[field]!, true);
      else view.setUint8(at, fields[field]!);
    }
  }
}
