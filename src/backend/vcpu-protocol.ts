// Messages between a VcpuThread (JS main thread) and its vcpu-worker.
import type { MessagePort } from 'node:worker_threads';
import type { ExitInput, Regs, Sregs, VcpuExit } from './types.js';

export interface WorkerSetup {
  vmFd: number;
  vcpuId: number;
  mmapSize: number;
  /** Int32Array(1) doorbell: bumped after every request so a waiting worker wakes */
  doorbell: SharedArrayBuffer;
  requests: MessagePort;
}

/** Requests that run on a vcpu whether it is idle or paused out of KVM_RUN. */
export type StateRequest =
  | { op: 'getRegs' }
  | { op: 'setRegs'; regs: Regs }
  | { op: 'getSregs' }
  | { op: 'setSregs'; sregs: Sregs }
  | { op: 'interrupt'; vector: number };

export type Request =
  | (StateRequest & { id: number })
  | { id: number; op: 'run'; input?: ExitInput }
  /** ends a run in progress with `intr`; ignored when idle */
  | { id: number; op: 'stop' }
  | { id: number; op: 'close' };

export type Reply =
  | { id: number; ok: true; value?: Regs | Sregs | VcpuExit }
  | { id: number; ok: false; call: string; errno: number; message: string };

/** The worker's first message, once its vcpu fd exists (or failed to). */
export type Ready =
  | { ok: true; threadId: number | bigint; kvmRunPointer: bigint }
  | { ok: false; call: string; errno: number; message: string };
