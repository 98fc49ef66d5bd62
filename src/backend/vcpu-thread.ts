// The JS main thread's handle on one vcpu thread (Firecracker's Vcpu
// handle): a small state machine, idle -> running -> idle (-> closed), that
// turns file operations into requests for the worker, and kicks a running
// vcpu out of KVM_RUN (immediate_exit + SIGUSR2) when a request cannot wait.
import { Worker } from 'node:worker_threads';
import { errno, koffi, pthreadKill, SIGUSR2, SysError } from './kvm/libc.js';
import { decodeRegs, decodeSregs, encodeRegs, encodeSregs } from './kvm/codec.js';
import { KvmRunPage } from './kvm/kvm-run.js';
import { REGS_AREA, RUN_EXITED, RUN_STOPPED, slot, stateOpNames, stateOps, type Ready, type StateOp, type WorkerSetup } from './vcpu-protocol.js';
import type { ExitInput, Regs, Sregs, VcpuExit } from './types.js';

const { EIO, EBADF, EBUSY } = errno;
/**
 * How long the main thread polls for a reply before it yields to the event
 * loop: a guest exit or an ioctl usually answers well within this, and a
 * poll costs less than the event loop's wake-up (the figures are in
 * docs/performance.md).
 */
const REPLY_SPIN_NS = 100_000n;

// A signal with no handler would kill the process; with one, it only makes
// the vcpu thread's KVM_RUN return EINTR.
process.on('SIGUSR2', () => {});

type VcpuState = 'idle' | 'running' | 'closed';

export class VcpuThread {
  private state: VcpuState = 'idle';
  private input: ExitInput | undefined;
  /** state requests go one at a time through the one data area */
  private stateQueue: Promise<unknown> = Promise.resolve();
  private readonly dataView: DataView;
  /** The last exit; an `io in` or `mmio read` here is waiting for input. */
  lastExit: VcpuExit | undefined;

  private constructor(
    readonly id: number,
    private readonly worker: Worker,
    private readonly control: Int32Array,
    data: SharedArrayBuffer,
    /** pthread_t of the worker, the target of kicks */
    private readonly threadId: number | bigint,
    /** the vcpu's struct kvm_run, read here once the worker is done with it */
    private readonly kvmRun: KvmRunPage,
  ) {
    this.dataView = new DataView(data);
    worker.once('exit', () => this.workerGone());
  }

  /** Starts the vcpu's thread, which creates vcpu `id` on the VM fd. */
  static async start(vmFd: number, id: number, mmapSize: number): Promise<VcpuThread> {
    const setup: WorkerSetup = {
      vmFd, vcpuId: id, mmapSize,
      control: new SharedArrayBuffer(slot.count * 4),
      data: new SharedArrayBuffer(REGS_AREA),
    };
    const worker = new Worker(new URL('./vcpu-worker.js', import.meta.url), { workerData: setup });
    const ready = await new Promise<Ready>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (!ready.ok) {
      await worker.terminate();
      throw new SysError(ready.call, ready.errno);
    }
    const kvmRun = new KvmRunPage(new DataView(koffi.view(ready.kvmRunPointer, mmapSize)));
    return new VcpuThread(id, worker, new Int32Array(setup.control), setup.data, ready.threadId, kvmRun);
  }

  get running(): boolean {
    return this.state === 'running';
  }

  async getRegs(): Promise<Regs> {
    return this.stateRequest('getRegs', () => {}, () => decodeRegs(this.dataView));
  }

  async getSregs(): Promise<Sregs> {
    return this.stateRequest('getSregs', () => {}, () => decodeSregs(this.dataView));
  }

  /** State writes fail at once with EBUSY while the vcpu runs. */
  async setRegs(regs: Regs): Promise<void> {
    this.refuseWhileRunning('KVM_SET_REGS');
    await this.stateRequest('setRegs', () => encodeRegs(regs, this.dataView), () => undefined, true);
  }

  async setSregs(sregs: Sregs): Promise<void> {
    this.refuseWhileRunning('KVM_SET_SREGS');
    await this.stateRequest('setSregs', () => encodeSregs(sregs, this.dataView), () => undefined, true);
  }

  /** KVM_INTERRUPT; a running vcpu is paused for it, as for a snapshot. */
  async interrupt(vector: number): Promise<void> {
    await this.stateRequest('interrupt', () => Atomics.store(this.control, slot.stateArg, vector), () => undefined);
  }

  /** Input for the `io in` / `mmio read` in lastExit, delivered by the next run. */
  supplyInput(input: ExitInput): void {
    this.input = input;
  }

  /** KVM_RUN until the next exit to user space; `intr` when stopped or timed out. */
  async run(timeoutMs: number): Promise<VcpuExit> {
    this.refuseWhileRunning('KVM_RUN');
    this.state = 'running';
    if (this.lastExit && this.input) this.kvmRun.writeInput(this.lastExit, this.input);
    this.input = undefined;
    this.lastExit = undefined;
    const timer = timeoutMs > 0 ? setTimeout(() => this.stop(), timeoutMs) : undefined;
    try {
      const seq = Atomics.load(this.control, slot.runSeq) + 1;
      Atomics.store(this.control, slot.runStopBase, Atomics.load(this.control, slot.stopSeq));
      Atomics.store(this.control, slot.runSeq, seq);
      this.ringDoorbell();
      await this.reply(slot.runDone, seq);
      const result = Atomics.load(this.control, slot.runResult);
      if (result !== RUN_EXITED && result !== RUN_STOPPED) throw new SysError('KVM_RUN', result);
      this.lastExit = result === RUN_STOPPED ? { kind: 'intr' } : this.kvmRun.readExit();
      return this.lastExit;
    } finally {
      clearTimeout(timer);
      if (this.state === 'running') this.state = 'idle';
    }
  }

  /** Ends a run in progress with `intr`; does nothing to an idle vcpu. */
  stop(): void {
    if (this.state !== 'running') return;
    Atomics.add(this.control, slot.stopSeq, 1);
    this.ringDoorbell();
    this.kick();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.stop();
    this.state = 'closed';
    Atomics.store(this.control, slot.close, 1);
    this.ringDoorbell();
    const closed = this.reply(slot.close, 2);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000))]);
    await this.worker.terminate();
  }

  /**
   * The thread ended (closed, or died): a request it left unanswered gets
   * EIO rather than waiting forever.
   */
  private workerGone(): void {
    this.state = 'closed';
    const control = this.control;
    const stateSeq = Atomics.load(control, slot.stateSeq);
    if (Atomics.load(control, slot.stateDone) !== stateSeq) {
      Atomics.store(control, slot.stateErrno, EIO);
      Atomics.store(control, slot.stateDone, stateSeq);
    }
    const runSeq = Atomics.load(control, slot.runSeq);
    if (Atomics.load(control, slot.runDone) !== runSeq) {
      Atomics.store(control, slot.runResult, EIO);
      Atomics.store(control, slot.runDone, runSeq);
    }
    Atomics.store(control, slot.close, 2);
    for (const index of [slot.stateDone, slot.runDone, slot.close]) Atomics.notify(control, index);
  }

  private refuseWhileRunning(call: string): void {
    if (this.state === 'running') throw new SysError(call, EBUSY);
    if (this.state === 'closed') throw new SysError(call, EBADF);
  }

  /**
   * One state request through the data area, after those before it. `write`
   * fills the request in; `read` takes the reply out before the next
   * request may touch the area.
   */
  private stateRequest<T>(op: StateOp, write: () => void, read: () => T, refuseIfRunning = false): Promise<T> {
    const request = this.stateQueue.then(async () => {
      if (this.state === 'closed') throw new SysError(stateOpNames[stateOps[op]]!, EBADF);
      if (refuseIfRunning && this.state === 'running') throw new SysError(stateOpNames[stateOps[op]]!, EBUSY);
      write();
      const seq = Atomics.load(this.control, slot.stateSeq) + 1;
      Atomics.store(this.control, slot.stateOp, stateOps[op]);
      Atomics.store(this.control, slot.stateSeq, seq);
      this.ringDoorbell();
      if (this.state === 'running') this.kick();
      await this.reply(slot.stateDone, seq);
      const errno = Atomics.load(this.control, slot.stateErrno);
      if (errno !== 0) throw new SysError(stateOpNames[stateOps[op]]!, errno);
      return read();
    });
    this.stateQueue = request.catch(() => undefined);
    return request;
  }

  private ringDoorbell(): void {
    Atomics.add(this.control, slot.doorbell, 1);
    // A polling worker sees the ring by itself; the wake is a system call.
    if (Atomics.load(this.control, slot.sleeping)) Atomics.notify(this.control, slot.doorbell);
  }

  /** Makes a KVM_RUN in progress (or the next one) return EINTR. */
  private kick(): void {
    this.kvmRun.immediateExit = true;
    pthreadKill(this.threadId, SIGUSR2);
  }

  /** Resolves once control[index] === value: polls briefly, then waits without blocking the event loop. */
  private async reply(index: number, value: number): Promise<void> {
    const deadline = process.hrtime.bigint() + REPLY_SPIN_NS;
    while (Atomics.load(this.control, index) !== value) {
      if (process.hrtime.bigint() > deadline) {
        for (let current = Atomics.load(this.control, index); current !== value; current = Atomics.load(this.control, index)) {
          await Atomics.waitAsync(this.control, index, current).value;
        }
        return;
      }
    }
  }
}
