// The state one vcpu shares between threads: a SharedArrayBuffer of Int32
// slots. The vcpu's own thread (vcpu-worker.ts) makes every KVM_RUN; any
// other thread (the main thread, a FUSE reader thread) asks it to run, stops
// it, or makes another vcpu ioctl itself while the vcpu is paused. Requests
// are a few Atomics stores and, only when the other side sleeps, one futex
// wake: postMessage would wake an event loop, which on these machines costs
// more than a guest exit.

/** Int32 slots of the control block. */
export const slot = {
  /** bumped after posting a run or a close: the vcpu thread's doorbell */
  doorbell: 0,
  /** run request sequence; the vcpu thread sets runDone to it when the run ended */
  runSeq: 1,
  runDone: 2,
  /** 0: the exit is in kvm_run; 1: stopped (intr); otherwise KVM_RUN's errno */
  runResult: 3,
  /** bumped to stop the current run; runStopBase is its value when the run was claimed */
  stopSeq: 4,
  runStopBase: 5,
  /** 1: a thread has claimed the vcpu for a run (a `run` read is in progress) */
  runOwner: 6,
  /** what the last run left: see lastRun */
  lastRun: 7,
  /**
   * Threads making a vcpu ioctl other than KVM_RUN right now. While it is
   * non-zero the vcpu thread does not enter KVM_RUN: the vcpu is paused.
   */
  direct: 8,
  /** Threads using the vcpu fd or its kvm_run page: it is closed only at 0. */
  users: 9,
  /** 0: open; 1: closing (nothing new may start); 2: closed */
  close: 10,
  /** an Atomics read-modify-write on this slot is the vcpu thread's full memory fence */
  fence: 11,
  /** 1 while the vcpu thread sleeps on the doorbell: only then is a futex wake needed */
  sleeping: 12,
  count: 16,
} as const;

export const RUN_EXITED = 0;
export const RUN_STOPPED = 1;

export const lastRun = { none: 0, exited: 1, stopped: 2 } as const;

/** Everything another thread needs to attach to a vcpu (structured-clonable). */
export interface VcpuShare {
  id: number;
  fd: number;
  kvmRunPointer: bigint;
  mmapSize: number;
  /** pthread_t of the vcpu thread, the target of kicks */
  threadId: bigint;
  control: SharedArrayBuffer;
}

export interface WorkerSetup {
  vmFd: number;
  vcpuId: number;
  mmapSize: number;
  control: SharedArrayBuffer;
}

/** The worker's one message, once its vcpu fd exists (or failed to). */
export type Ready =
  | { ok: true; fd: number; threadId: bigint; kvmRunPointer: bigint }
  | { ok: false; call: string; errno: number; message: string };
