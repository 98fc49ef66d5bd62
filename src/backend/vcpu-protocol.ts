// The state one vcpu shares between threads: a SharedArrayBuffer that the
// JS main thread and every FUSE reader thread attach to (SharedVcpu). The
// thread serving a `run` read claims the vcpu and makes KVM_RUN itself; any
// other thread stops it, or pauses it for an ioctl of its own, through this
// state: a few Atomics operations and, at most, a signal. No message ever
// crosses an event loop on these paths: waking one costs more than a guest
// exit on these machines.

/** Int32 slots of the control block. */
export const slot = {
  /** bumped to stop the current run; runStopBase is its value when the run was claimed */
  stopSeq: 0,
  runStopBase: 1,
  /** 1: a thread has claimed the vcpu for a run (a `run` read is in progress) */
  runOwner: 2,
  /** what the last run left: see lastRun */
  lastRun: 3,
  /**
   * Threads making a vcpu ioctl other than KVM_RUN right now. While it is
   * non-zero the running thread does not enter KVM_RUN: the vcpu is paused.
   */
  direct: 4,
  /** Threads using the vcpu fd or its kvm_run page: they are closed only at 0. */
  users: 5,
  /** 1 once closing: nothing new may start */
  close: 6,
  /** an Atomics read-modify-write on this slot is a full memory fence */
  fence: 7,
  /** bumped after anything that may change the registers: a KVM_RUN, KVM_SET_REGS, KVM_SET_SREGS */
  stateVersion: 8,
  /** even, so that RUNNER_OFFSET is 8-byte aligned */
  count: 10,
} as const;

/** Byte offsets past the Int32 slots: the running thread's pthread_t (BigInt64), and when its run is due to stop (Float64, ms since the epoch). */
export const RUNNER_OFFSET = slot.count * 4;
export const DEADLINE_OFFSET = RUNNER_OFFSET + 8;
export const CONTROL_BYTES = DEADLINE_OFFSET + 8;

export const lastRun = { none: 0, exited: 1, stopped: 2 } as const;

/**
 * A vcpu's state, one of a named few (as Firecracker's vcpu has), read off
 * the control block by any thread:
 *
 * - `idle`: no run in progress; state ioctls and writes go straight to KVM.
 * - `running`: a thread holds the vcpu for a `run` read, in KVM_RUN or about
 *   to enter it.
 * - `paused`: held for a run, but kept out of KVM_RUN while another thread
 *   makes an ioctl (a state read, an interrupt).
 * - `closed`: its VM is being destroyed; nothing new starts.
 *
 * Transitions: idle -> running when a run claims the vcpu (runOwner 0 -> 1);
 * running -> paused when another thread's ioctl begins (direct + 1, and a
 * kick out of KVM_RUN); paused -> running when the last such ioctl ends;
 * running or paused -> idle when the run returns its exit or `intr`
 * (runOwner 1 -> 0, lastRun says which); any -> closed on destroy.
 */
export type VcpuState = 'idle' | 'running' | 'paused' | 'closed';

export function vcpuState(control: Int32Array): VcpuState {
  if (Atomics.load(control, slot.close) !== 0) return 'closed';
  if (Atomics.load(control, slot.runOwner) !== 1) return 'idle';
  return Atomics.load(control, slot.direct) > 0 ? 'paused' : 'running';
}

/**
 * A vcpu's control block, idle. Its deadline is Infinity whenever no run
 * has set one: the run watchdog reads it as soon as it sees a run claimed,
 * which may be a moment before that run writes its own.
 */
export function newControlBlock(): SharedArrayBuffer {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  new Float64Array(control, DEADLINE_OFFSET, 1)[0] = Infinity;
  return control;
}

/** Waits until no other thread makes an ioctl on the vcpu (slot.direct is 0): the running thread's side of a pause. */
export function waitWhileDirect(control: Int32Array): void {
  for (let direct = Atomics.load(control, slot.direct); direct > 0; direct = Atomics.load(control, slot.direct)) {
    Atomics.wait(control, slot.direct, direct);
  }
}

/** Whether the vcpu `share` names is closed or closing (its VM destroyed). */
export function isClosed(share: VcpuShare): boolean {
  return vcpuState(new Int32Array(share.control, 0, slot.count)) === 'closed';
}

/** Everything another thread needs to attach to a vcpu (structured-clonable). */
export interface VcpuShare {
  id: number;
  fd: number;
  kvmRunPointer: bigint;
  mmapSize: number;
  control: SharedArrayBuffer;
  /** the Activity (src/sys/activity.ts) that counts runs, for the run watchdog */
  activity: SharedArrayBuffer;
  /** the struct kvm_guest_debug last set (guest-debug.ts) */
  guestDebug: SharedArrayBuffer;
  /** the VM's console (console.ts): io out exits to its ports are consumed in the run loop */
  console: SharedArrayBuffer;
}
