// The life of one vcpu's host thread, owned by the JS main thread: start it
// (it creates the vcpu fd), and close it. What the vcpu does is in
// SharedVcpu, which any thread may attach to.
import { Worker } from 'node:worker_threads';
import { errno, SysError } from './kvm/libc.js';
import { SharedVcpu } from './shared-vcpu.js';
import { DATA_BYTES, slot, type Ready, type VcpuShare, type WorkerSetup } from './vcpu-protocol.js';

const { EIO } = errno;
/** How long close waits for the vcpu thread to let go of its fd before the thread is terminated anyway. */
const CLOSE_WAIT_MS = 1000;

export class VcpuThread {
  private closing: Promise<void> | undefined;

  private constructor(readonly vcpu: SharedVcpu, private readonly worker: Worker) {
    worker.once('exit', () => this.workerGone());
  }

  /** Starts the vcpu's thread, which creates vcpu `id` on the VM fd. */
  static async start(vmFd: number, id: number, mmapSize: number): Promise<VcpuThread> {
    const setup: WorkerSetup = { vmFd, vcpuId: id, mmapSize, control: new SharedArrayBuffer(slot.count * 4), data: new SharedArrayBuffer(DATA_BYTES) };
    const worker = new Worker(new URL('./vcpu-worker.js', import.meta.url), { workerData: setup });
    const ready = await new Promise<Ready>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (!ready.ok) {
      await worker.terminate();
      throw new SysError(ready.call, ready.errno);
    }
    const share: VcpuShare = { id, kvmRunPointer: ready.kvmRunPointer, mmapSize, threadId: ready.threadId, control: setup.control, data: setup.data };
    return new VcpuThread(new SharedVcpu(share), worker);
  }

  /** Stops a run in progress, closes the vcpu fd once no thread uses it, and ends the thread. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    const control = new Int32Array(this.vcpu.share.control);
    Atomics.store(control, slot.close, 1);
    this.vcpu.stop();
    Atomics.add(control, slot.doorbell, 1);
    Atomics.notify(control, slot.doorbell);
    const closed = Atomics.load(control, slot.close) === 2 ? undefined : Atomics.waitAsync(control, slot.close, 1, CLOSE_WAIT_MS).value;
    await closed;
    await this.worker.terminate();
  }

  /**
   * The thread ended (closed, or died): a request it left unanswered gets
   * EIO rather than waiting forever, and the vcpu counts as closed.
   */
  private workerGone(): void {
    const control = new Int32Array(this.vcpu.share.control);
    Atomics.store(control, slot.close, 2);
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
    for (const index of [slot.stateDone, slot.runDone, slot.close]) Atomics.notify(control, index);
  }
}
