// A vcpu's guest debugging (KVM_SET_GUEST_DEBUG) as every thread sees it.
// KVM has no getter, so the struct last set is kept in shared memory
// (VcpuShare.guestDebug): the `debug` file shows it, and the thread that
// runs the vcpu (a FUSE reader) reads it to step over a breakpoint.
//
// Why step over: with an exec breakpoint at the current rip, KVM stops
// again at once on every KVM_RUN (measured; RFLAGS.RF does not help). So a
// run that starts there first runs one instruction single-stepped with
// that breakpoint off, puts the configuration back, and only then runs
// on, as a debugger's `continue` does.
import { KVM_GUEST_DEBUG_SIZE } from './kvm/abi-debug.js';
import { decodeGuestDebug, encodeGuestDebug } from './kvm/debug-codec.js';
import { waitWhileDirect } from './vcpu-protocol.js';
import type { VcpuFd } from './kvm/vcpu.js';
import type { VcpuExit } from './types.js';

export type BreakpointType = 'exec' | 'write' | 'rw' | 'io';
export type BreakpointLength = 1 | 2 | 4 | 8;
export const BREAKPOINT_TYPES: readonly BreakpointType[] = ['exec', 'write', 'rw', 'io'];
export const BREAKPOINT_LENGTHS: readonly BreakpointLength[] = [1, 2, 4, 8];
/** x86 has four debug-register breakpoints, DR0-DR3. */
export const HW_BREAKPOINTS = 4;

/** One debug-register breakpoint: a linear address (a port for `io`). */
export interface HwBreakpoint { addr: bigint; type: BreakpointType; length: BreakpointLength }

/** What KVM_SET_GUEST_DEBUG was given, decoded; hw has HW_BREAKPOINTS entries, undefined = off. */
export interface GuestDebug {
  singlestep: boolean;
  swBreakpoints: boolean;
  hw: Array<HwBreakpoint | undefined>;
}

/** KVM_TRANSLATE's answer for one linear address. */
export interface Translation { linear: bigint; physical: bigint; valid: boolean; writeable: boolean; usermode: boolean }

const EFER_LMA = 0x400n;

/** A new vcpu's guest debugging: a zeroed struct kvm_guest_debug, i.e. everything off. */
export function newGuestDebugBlock(): SharedArrayBuffer {
  return new SharedArrayBuffer(KVM_GUEST_DEBUG_SIZE);
}

/**
 * The address the vcpu executes next, as breakpoints and KVM_TRANSLATE
 * see it: rip in 64-bit code, cs.base + eip otherwise.
 */
export function linearRip(fd: VcpuFd): bigint {
  const { rip } = fd.getRegs();
  const sregs = fd.getSregs();
  if ((sregs.efer & EFER_LMA) !== 0n && sregs.cs.l === 1) return rip;
  return (sregs.cs.base + rip) & 0xffffffffn;
}

export class GuestDebugState {
  private readonly kept: Uint8Array;
  private readonly scratch = new DataView(new ArrayBuffer(KVM_GUEST_DEBUG_SIZE));

  /** `block`: VcpuShare.guestDebug; `control`: the vcpu's control block (vcpu-protocol). */
  constructor(block: SharedArrayBuffer, private readonly control: Int32Array) {
    this.kept = new Uint8Array(block);
  }

  /** What was last set. */
  get(): GuestDebug {
    return decodeGuestDebug(new DataView(this.kept.slice().buffer));
  }

  /** KVM_SET_GUEST_DEBUG, then kept; call with the vcpu idle (SharedVcpu.idle). */
  set(fd: VcpuFd, debug: GuestDebug): void {
    fd.setGuestDebug(this.encode(debug));
    this.kept.set(new Uint8Array(this.scratch.buffer));
  }

  /**
   * Runs the vcpu with `runOnce` (KVM_RUN until an exit), stepping over an
   * exec breakpoint at rip first. Called by the running thread with the
   * vcpu claimed, so the configuration cannot change meanwhile (a write
   * to `debug` is EBUSY), once a write that began before the claim is done.
   */
  run<Result extends { kind: string }>(fd: VcpuFd, runOnce: () => Result): Result {
    waitWhileDirect(this.control);
    const debug = this.get();
    if (!debug.hw.some((bp) => bp?.type === 'exec')) return runOnce();
    const rip = linearRip(fd);
    const atRip = debug.hw.map((bp) => bp?.type === 'exec' && bp.addr === rip);
    if (!atRip.includes(true)) return runOnce();
    const stepping = debug.hw.map((bp, slot) => (atRip[slot] ? undefined : bp));
    fd.setGuestDebug(this.encode({ ...debug, singlestep: true, hw: stepping }));
    let step: Result;
    try {
      step = runOnce();
    } finally {
      fd.setGuestDebug(this.kept.slice()); // a copy: the ioctl gets plain memory, not the shared block
    }
    // The step's own stop is not news, unless the user single-steps or it hit another breakpoint.
    if (step.kind !== 'exited' || debug.singlestep || !isPlainStep(fd.kvmRun.peekExit(), stepping)) return step;
    return runOnce();
  }

  private encode(debug: GuestDebug): Uint8Array {
    encodeGuestDebug(debug, this.scratch);
    return new Uint8Array(this.scratch.buffer);
  }
}

/**
 * The stop of the step itself: a #DB where none of the breakpoints enabled
 * for the step matched. Only their B0-B3 bits count (DR6 bits of slots not
 * in use were seen set), and DR6.BS is not required (not every KVM sets it).
 */
function isPlainStep(exit: VcpuExit, enabled: GuestDebug['hw']): boolean {
  if (exit.kind !== 'debug' || exit.exception !== 1) return false;
  return enabled.every((bp, slot) => !bp || ((exit.dr6 >> BigInt(slot)) & 1n) === 0n);
}
