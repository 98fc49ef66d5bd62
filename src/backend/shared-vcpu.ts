// One vcpu as any thread sees it: the JS main thread and the FUSE reader
// threads each attach to the same shared state (vcpu-protocol). A run is
// claimed by one thread at a time and made by the vcpu's own thread; the
// other ioctls are made directly by the thread that needs them, with the
// vcpu paused if it runs (QEMU's run_on_cpu): KVM's per-vcpu mutex makes
// the ioctl wait for KVM_RUN to return, and the vcpu thread does not enter
// KVM_RUN again until the ioctl is done.
import { errno, pthreadKill, SIGUSR2, SysError } from './kvm/libc.js';
import { VcpuFd } from './kvm/vcpu.js';
import { lastRun, RUN_EXITED, RUN_STOPPED, slot, type VcpuShare } from './vcpu-protocol.js';
import type { ExitInput, Regs, Sregs, VcpuExit } from './types.js';

const { EBADF, EBUSY } = errno;
/**
 * How long a thread waiting for a run polls before it sleeps: a guest exit
 * usually comes well within this, and a poll costs less than a wake-up
 * (docs/performance.md).
 */
const RUN_SPIN_NS = 100_000n;

// A signal with no handler would kill the process; with one, it only makes
// the vcpu thread's KVM_RUN return EINTR.
process.on('SIGUSR2', () => {});

export class SharedVcpu {
  private readonly control: Int32Array;
  private readonly fd: VcpuFd;

  constructor(readonly share: VcpuShare) {
    this.control = new Int32Array(share.control);
    this.fd = VcpuFd.attach(share.fd, share.kvmRunPointer, share.mmapSize);
  }

  get id(): number {
    return this.share.id;
  }

  /** Whether a `run` read is in progress. */
  get running(): boolean {
    return Atomics.load(this.control, slot.runOwner) === 1;
  }

  /** The last exit while the vcpu is idle; an `io in` or `mmio read` here is waiting for input. */
  get lastExit(): VcpuExit | undefined {
    if (this.running) return undefined;
    switch (Atomics.load(this.control, slot.lastRun)) {
      case lastRun.exited: return this.use(() => this.fd.kvmRun.peekExit());
      case lastRun.stopped: return { kind: 'intr' };
      default: return undefined;
    }
  }

  /**
   * KVM_RUN until the next exit to user space, on the vcpu's thread; this
   * thread blocks meanwhile. `intr` when stopped, or after `timeoutMs` (0:
   * no limit). EBUSY if another run is in progress.
   */
  run(timeoutMs: number): VcpuExit {
    const control = this.control;
    return this.use(() => {
      // Read before the claim: a stop that comes after it stops this run.
      const stopBase = Atomics.load(control, slot.stopSeq);
      if (Atomics.compareExchange(control, slot.runOwner, 0, 1) !== 0) throw new SysError('KVM_RUN', EBUSY);
      let last: number = lastRun.none;
      try {
        Atomics.store(control, slot.lastRun, lastRun.none);
        Atomics.store(control, slot.runStopBase, stopBase);
        const seq = Atomics.load(control, slot.runSeq) + 1;
        Atomics.store(control, slot.runSeq, seq);
        this.ringDoorbell();
        this.awaitRun(seq, timeoutMs);
        const result = Atomics.load(control, slot.runResult);
        if (result === RUN_STOPPED) {
          last = lastRun.stopped;
          return { kind: 'intr' };
        }
        if (result !== RUN_EXITED) throw new SysError('KVM_RUN', result);
        last = lastRun.exited;
        return this.fd.kvmRun.readExit();
      } finally {
        Atomics.store(control, slot.lastRun, last);
        Atomics.store(control, slot.runOwner, 0);
      }
    });
  }

  /** Ends a run in progress with `intr`; does nothing to an idle vcpu. */
  stop(): void {
    if (!this.running) return;
    Atomics.add(this.control, slot.stopSeq, 1);
    this.kick();
  }

  getRegs(): Regs {
    return this.paused('KVM_GET_REGS', () => this.fd.getRegs());
  }

  getSregs(): Sregs {
    return this.paused('KVM_GET_SREGS', () => this.fd.getSregs());
  }

  /** State writes fail at once with EBUSY while the vcpu runs. */
  setRegs(regs: Regs): void {
    this.idle('KVM_SET_REGS', () => this.fd.setRegs(regs));
  }

  setSregs(sregs: Sregs): void {
    this.idle('KVM_SET_SREGS', () => this.fd.setSregs(sregs));
  }

  /** KVM_INTERRUPT; a running vcpu is paused for it, as for a snapshot. */
  interrupt(vector: number): void {
    this.paused('KVM_INTERRUPT', () => this.fd.interrupt(vector));
  }

  /** Input for the `io in` / `mmio read` in lastExit, delivered by the next run. */
  supplyInput(exit: VcpuExit, input: ExitInput): void {
    this.idle('KVM_RUN', () => this.fd.kvmRun.writeInput(exit, input));
  }

  /** Runs `call` with the fd open, or fails with EBADF once it is closing. */
  private use<T>(call: () => T): T {
    Atomics.add(this.control, slot.users, 1);
    try {
      if (Atomics.load(this.control, slot.close) !== 0) throw new SysError('vcpu', EBADF);
      return call();
    } finally {
      if (Atomics.sub(this.control, slot.users, 1) === 1) Atomics.notify(this.control, slot.users);
    }
  }

  /** An ioctl with the vcpu paused: a running vcpu is kicked out of KVM_RUN and waits until `call` returns. */
  private paused<T>(name: string, call: () => T): T {
    return this.use(() => {
      Atomics.add(this.control, slot.direct, 1);
      try {
        if (this.running) this.kick();
        return call();
      } catch (error) {
        throw error instanceof SysError ? error : new SysError(name, errno.EIO);
      } finally {
        if (Atomics.sub(this.control, slot.direct, 1) === 1) Atomics.notify(this.control, slot.direct);
      }
    });
  }

  /** An ioctl only an idle vcpu takes. */
  private idle<T>(name: string, call: () => T): T {
    return this.paused(name, () => {
      if (this.running) throw new SysError(name, EBUSY);
      return call();
    });
  }

  /** Blocks until run `seq` is answered: polls briefly, then sleeps; stops the run at the time limit. */
  private awaitRun(seq: number, timeoutMs: number): void {
    const control = this.control;
    const spinUntil = process.hrtime.bigint() + RUN_SPIN_NS;
    while (Atomics.load(control, slot.runDone) !== seq) {
      if (process.hrtime.bigint() > spinUntil) break;
    }
    const deadline = timeoutMs > 0 ? performance.now() + timeoutMs : Infinity;
    for (let done = Atomics.load(control, slot.runDone); done !== seq; done = Atomics.load(control, slot.runDone)) {
      const left = deadline - performance.now();
      if (left <= 0) {
        this.stop();
        Atomics.wait(control, slot.runDone, done);
      } else {
        Atomics.wait(control, slot.runDone, done, left === Infinity ? undefined : left);
      }
    }
  }

  private ringDoorbell(): void {
    Atomics.add(this.control, slot.doorbell, 1);
    // A polling vcpu thread sees the ring by itself; the wake is a system call.
    if (Atomics.load(this.control, slot.sleeping)) Atomics.notify(this.control, slot.doorbell);
  }

  /** Makes a KVM_RUN in progress (or the next one) return EINTR. */
  private kick(): void {
    this.fd.kvmRun.immediateExit = true;
    pthreadKill(this.share.threadId, SIGUSR2);
  }
}
