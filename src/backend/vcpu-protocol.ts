// The channel between a VcpuThread (JS main thread) and its vcpu-worker: a
// SharedArrayBuffer of sequence numbers and one struct-sized data area, so
// a request and its reply cost two memory writes and, at most, one futex
// wake each way. postMessage would cost far more: every message wakes the
// receiving event loop, which on these machines takes longer than a guest
// exit. The main thread spins briefly on replies it expects soon.

export const REGS_AREA = 1024;

/** Int32 slots of the control block. */
export const slot = {
  /** bumped by the main thread after posting any request: the worker's doorbell */
  doorbell: 0,
  /** state request: sequence number, op, argument; reply: done sequence, errno */
  stateSeq: 1,
  stateOp: 2,
  stateArg: 3,
  stateDone: 4,
  stateErrno: 5,
  /** run request sequence; the worker sets runDone to it when the run ended */
  runSeq: 6,
  runDone: 7,
  /** 0: the exit is in kvm_run; 1: stopped (intr); otherwise KVM_RUN's errno */
  runResult: 8,
  /** bumped to stop the current run; runStopBase is its value when the run was posted */
  stopSeq: 9,
  runStopBase: 10,
  /** set to 1 to end the worker */
  close: 11,
  /** an Atomics read-modify-write on this slot is the worker's full memory fence */
  fence: 12,
  /** 1 while the worker sleeps on the doorbell: only then is a futex wake needed */
  sleeping: 13,
  count: 16,
} as const;

export const stateOps = { getRegs: 1, setRegs: 2, getSregs: 3, setSregs: 4, interrupt: 5 } as const;
export type StateOp = keyof typeof stateOps;
export const stateOpNames: Record<number, string> = {
  1: 'KVM_GET_REGS', 2: 'KVM_SET_REGS', 3: 'KVM_GET_SREGS', 4: 'KVM_SET_SREGS', 5: 'KVM_INTERRUPT',
};

export const RUN_EXITED = 0;
export const RUN_STOPPED = 1;

export interface WorkerSetup {
  vmFd: number;
  vcpuId: number;
  mmapSize: number;
  control: SharedArrayBuffer;
  /** struct kvm_regs / kvm_sregs bytes for state requests */
  data: SharedArrayBuffer;
}

/** The worker's one message, once its vcpu fd exists (or failed to). */
export type Ready =
  | { ok: true; threadId: number | bigint; kvmRunPointer: bigint }
  | { ok: false; call: string; errno: number; message: string };
