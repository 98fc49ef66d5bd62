// The state one vcpu shares between threads: a SharedArrayBuffer of Int32
// slots and one struct-sized data area. The vcpu's own thread
// (vcpu-worker.ts) makes every ioctl on the vcpu; any other thread (the main
// thread, a FUSE reader thread) asks it to run, to make a state ioctl, or
// stops it. Keeping the vcpu on one thread keeps it on one host CPU: loading
// a vcpu on another CPU costs KVM a cross-CPU call, which on these nested
// machines is slower than the ioctl itself. Requests are a few Atomics
// stores and, only when the other side sleeps, one futex wake: postMessage
// would wake an event loop, which here costs more than a guest exit.

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
  /** Threads using the vcpu's kvm_run page: it is unmapped only at 0. */
  users: 8,
  /** 0: open; 1: closing (nothing new may start); 2: closed */
  close: 9,
  /** an Atomics read-modify-write on this slot is the vcpu thread's full memory fence */
  fence: 10,
  /** 1 while the vcpu thread sleeps on the doorbell: only then is a futex wake needed */
  sleeping: 11,
  /** 1 while a thread owns the state request area (one state request at a time) */
  stateLock: 12,
  /** state request: sequence number, op, argument; reply: done sequence, errno */
  stateSeq: 13,
  stateOp: 14,
  stateArg: 15,
  stateDone: 16,
  stateErrno: 17,
  count: 20,
} as const;

/** The data area: struct kvm_regs or kvm_sregs bytes of a state request. */
export const DATA_BYTES = 1024;

export const stateOps = { getRegs: 1, setRegs: 2, getSregs: 3, setSregs: 4, interrupt: 5 } as const;
export type StateOp = keyof typeof stateOps;
export const stateOpNames: Record<StateOp, string> = {
  getRegs: 'KVM_GET_REGS', setRegs: 'KVM_SET_REGS', getSregs: 'KVM_GET_SREGS', setSregs: 'KVM_SET_SREGS', interrupt: 'KVM_INTERRUPT',
};

export const RUN_EXITED = 0;
export const RUN_STOPPED = 1;

export const lastRun = { none: 0, exited: 1, stopped: 2 } as const;

/** Everything another thread needs to attach to a vcpu (structured-clonable). */
export interface VcpuShare {
  id: number;
  kvmRunPointer: bigint;
  mmapSize: number;
  /** pthread_t of the vcpu thread, the target of kicks */
  threadId: bigint;
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

export interface WorkerSetup {
  vmFd: number;
  vcpuId: number;
  mmapSize: number;
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

/** The worker's one message, once its vcpu fd exists (or failed to). */
export type Ready =
  | { ok: true; threadId: bigint; kvmRunPointer: bigint }
  | { ok: false; call: string; errno: number; message: string };
