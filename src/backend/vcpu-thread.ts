// The JS main thread's handle on one vcpu thread (Firecracker's Vcpu
// handle): a small state machine, idle -> running -> idle, that turns file
// operations into requests for the worker, and kicks a running vcpu out of
// KVM_RUN (immediate_exit + SIGUSR2) when a request cannot wait.
import { MessageChannel, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { koffi, pthreadKill, SIGUSR2, SysError } from './kvm/libc.js';
import { kvmRunOffsets } from './kvm/abi.js';
import type { Ready, Reply, Request, StateRequest, WorkerSetup } from './vcpu-protocol.js';
import type { ExitInput, Regs, Sregs, VcpuExit } from './types.js';

const EBUSY = 16;

// A signal with no handler would kill the process; with one, it only makes
// the vcpu thread's KVM_RUN return EINTR.
process.on('SIGUSR2', () => {});

type VcpuState = 'idle' | 'running' | 'closed';
type Pending = { resolve: (value: Reply) => void };
type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;

export class VcpuThread {
  private state: VcpuState = 'idle';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private input: ExitInput | undefined;
  private runTimer: NodeJS.Timeout | undefined;
  /** The last exit; an `io in` or `mmio read` here is waiting for input. */
  lastExit: VcpuExit | undefined;

  private constructor(
    readonly id: number,
    private readonly worker: Worker,
    private readonly requests: MessagePort,
    private readonly doorbell: Int32Array,
    /** pthread_t of the worker, the target of kicks */
    private readonly threadId: number | bigint,
    /** the head of struct kvm_run, for immediate_exit */
    private readonly kvmRun: DataView,
  ) {
    worker.on('message', (reply: Reply) => {
      const pending = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      pending?.resolve(reply);
    });
  }

  /** Starts the vcpu's thread, which creates vcpu `id` on the VM fd. */
  static async start(vmFd: number, id: number, mmapSize: number): Promise<VcpuThread> {
    const channel = new MessageChannel();
    const setup: WorkerSetup = { vmFd, vcpuId: id, mmapSize, doorbell: new SharedArrayBuffer(4), requests: channel.port2 };
    const worker = new Worker(new URL('./vcpu-worker.js', import.meta.url), {
      workerData: setup, transferList: [channel.port2],
    });
    const ready = await new Promise<Ready>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (!ready.ok) {
      await worker.terminate();
      throw new SysError(ready.call, ready.errno);
    }
    const kvmRun = new DataView(koffi.view(ready.kvmRunPointer, kvmRunOffsets.exit_reason + 4));
    return new VcpuThread(id, worker, channel.port1, new Int32Array(setup.doorbell), ready.threadId, kvmRun);
  }

  get running(): boolean {
    return this.state === 'running';
  }

  getRegs(): Promise<Regs> {
    return this.state_({ op: 'getRegs' }) as Promise<Regs>;
  }

  getSregs(): Promise<Sregs> {
    return this.state_({ op: 'getSregs' }) as Promise<Sregs>;
  }

  /** State writes fail at once with EBUSY while the vcpu runs. */
  async setRegs(regs: Regs): Promise<void> {
    this.refuseWhileRunning('KVM_SET_REGS');
    await this.state_({ op: 'setRegs', regs });
  }

  async setSregs(sregs: Sregs): Promise<void> {
    this.refuseWhileRunning('KVM_SET_SREGS');
    await this.state_({ op: 'setSregs', sregs });
  }

  /** KVM_INTERRUPT; a running vcpu is paused for it, as for a snapshot. */
  async interrupt(vector: number): Promise<void> {
    await this.state_({ op: 'interrupt', vector });
  }

  /** Input for the `io in` / `mmio read` in lastExit, delivered by the next run. */
  supplyInput(input: ExitInput): void {
    this.input = input;
  }

  /** KVM_RUN until the next exit to user space; `intr` when stopped or timed out. */
  async run(timeoutMs: number): Promise<VcpuExit> {
    this.refuseWhileRunning('KVM_RUN');
    this.state = 'running';
    const input = this.input;
    this.input = undefined;
    if (timeoutMs > 0) this.runTimer = setTimeout(() => this.stop(), timeoutMs);
    try {
      const exit = (await this.request({ op: 'run', ...(input ? { input } : {}) })) as VcpuExit;
      this.lastExit = exit;
      return exit;
    } catch (error) {
      this.lastExit = undefined;
      throw error;
    } finally {
      clearTimeout(this.runTimer);
      if (this.state === 'running') this.state = 'idle';
    }
  }

  /** Ends a run in progress with `intr`; does nothing to an idle vcpu. */
  stop(): void {
    if (this.state !== 'running') return;
    void this.request({ op: 'stop' });
    this.kick();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.stop();
    this.state = 'closed';
    await this.request({ op: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }

  private refuseWhileRunning(call: string): void {
    if (this.state === 'running') throw new SysError(call, EBUSY);
    if (this.state === 'closed') throw new SysError(call, 9 /* EBADF */);
  }

  private async state_(request: StateRequest): Promise<unknown> {
    if (this.state === 'closed') throw new SysError(request.op, 9);
    const reply = this.request(request);
    if (this.state === 'running') this.kick();
    return reply;
  }

  /** Makes a KVM_RUN in progress (or the next one) return EINTR. */
  private kick(): void {
    this.kvmRun.setUint8(kvmRunOffsets.immediate_exit, 1);
    pthreadKill(this.threadId, SIGUSR2);
  }

  private request(request: DistributiveOmit<Request, 'id'>): Promise<unknown> {
    const id = this.nextId++;
    const reply = new Promise<Reply>((resolve) => this.pending.set(id, { resolve }));
    this.requests.postMessage({ ...request, id } as Request);
    Atomics.add(this.doorbell, 0, 1);
    Atomics.notify(this.doorbell, 0);
    return reply.then((r) => {
      if (!r.ok) throw new SysError(r.call, r.errno);
      return r.value;
    });
  }
}
