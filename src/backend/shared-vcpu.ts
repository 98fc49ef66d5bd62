// One vcpu as any thread sees it: the JS main thread and the FUSE reader
// threads each attach to the same shared state (vcpu-protocol). A run is
// claimed by one thread at a time; it and every other ioctl are made by the
// vcpu's own thread. A state request to a running vcpu pauses it (QEMU's
// run_on_cpu): the vcpu thread is kicked out of KVM_RUN, serves the
// request and resumes the guest.
import { errno, pthreadKill, SIGUSR2, SysError } from './kvm/libc.js';
import { KvmRunPage } from './kvm/kvm-run.js';
import { koffi } from './kvm/libc.js';
import { decodeRegs, decodeSregs, encodeRegs, encodeSregs } from './kvm/codec.js';
import { lastRun, RUN_EXITED, RUN_STOPPED, slot, stateOpNames, stateOps, type StateOp, type VcpuShare } from './vcpu-protocol.js';
import type { ExitInput, Regs, Sregs, VcpuExit } from './types.js';

const { EBADF, EBUSY } = errno;
/**
 * How long a thread waiting for the vcpu thread polls before it sleeps: a
 * guest exit or an ioctl usually answers well within this, and a poll costs
 * less than a wake-up (docs/performance.md).
 */
const REPLY_SPIN_NS = 100_000n;

// A signal with no handler would kill the process; with one, it only makes
// the vcpu thread's KVM_RUN return EINTR.
process.on('SIGUSR2', () => {});

export class SharedVcpu {
  private readonly control: Int32Array;
  private readonly data: DataView;
  /** the vcpu's struct kvm_run: read and written here only while the vcpu thread is not running it */
  private readonly kvmRun: KvmRunPage;

  constructor(readonly share: VcpuShare) {
    this.control = new Int32Array(share.control);
    this.data = new DataView(share.data);
    this.kvmRun = new KvmRunPage(new DataView(koffi.view(share.kvmRunPointer, share.mmapSize)));
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
      case lastRun.exited: return this.use(() => this.kvmRun.peekExit());
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
        this.awaitReply(slot.runDone, seq, timeoutMs);
        const result = Atomics.load(control, slot.runResult);
        if (result === RUN_STOPPED) {
          last = lastRun.stopped;
          return { kind: 'intr' };
        }
        if (result !== RUN_EXITED) throw new SysError('KVM_RUN', result);
        last = lastRun.exited;
        return this.kvmRun.readExit();
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
    return this.stateRequest('getRegs', () => {}, () => decodeRegs(this.data));
  }

  getSregs(): Sregs {
    return this.stateRequest('getSregs', () => {}, () => decodeSregs(this.data));
  }

  /** State writes fail at once with EBUSY while the vcpu runs. */
  setRegs(regs: Regs): void {
    this.stateRequest('setRegs', () => encodeRegs(regs, this.data), () => undefined, true);
  }

  setSregs(sregs: Sregs): void {
    this.stateRequest('setSregs', () => encodeSregs(sregs, this.data), () => undefined, true);
  }

  /** KVM_INTERRUPT; a running vcpu is paused for it, as for a snapshot. */
  interrupt(vector: number): void {
    this.stateRequest('interrupt', () => Atomics.store(this.control, slot.stateArg, vector), () => undefined);
  }

  /** Input for the `io in` / `mmio read` in lastExit, delivered by the next run. */
  supplyInput(exit: VcpuExit, input: ExitInput): void {
    this.use(() => {
      if (this.running) throw new SysError('KVM_RUN', EBUSY);
      this.kvmRun.writeInput(exit, input);
    });
  }

  /** Runs `call` while the vcpu is open (its kvm_run page mapped); EBADF once it is closing. */
  private use<T>(call: () => T): T {
    Atomics.add(this.control, slot.users, 1);
    try {
      if (Atomics.load(this.control, slot.close) !== 0) throw new SysError('vcpu', EBADF);
      return call();
    } finally {
      if (Atomics.sub(this.control, slot.users, 1) === 1) Atomics.notify(this.control, slot.users);
    }
  }

  /**
   * One state ioctl, made by the vcpu thread, one request at a time across
   * all threads. `write` fills the data area in; `read` takes the reply out
   * before the next request may touch it. A running vcpu is kicked to serve
   * it at once, unless the request is refused while it runs.
   */
  private stateRequest<T>(op: StateOp, write: () => void, read: () => T, refuseWhileRunning = false): T {
    const control = this.control;
    const name = stateOpNames[op];
    return this.use(() => {
      while (Atomics.compareExchange(control, slot.stateLock, 0, 1) !== 0) Atomics.wait(control, slot.stateLock, 1);
      try {
        if (refuseWhileRunning && this.running) throw new SysError(name, EBUSY);
        write();
        const seq = Atomics.load(control, slot.stateSeq) + 1;
        Atomics.store(control, slot.stateOp, stateOps[op]);
        Atomics.store(control, slot.stateSeq, seq);
        this.ringDoorbell();
        if (this.running) this.kick();
        this.awaitReply(slot.stateDone, seq, 0);
        const code = Atomics.load(control, slot.stateErrno);
        if (code !== 0) throw new SysError(name, code);
        return read();
      } finally {
        Atomics.store(control, slot.stateLock, 0);
        Atomics.notify(control, slot.stateLock, 1);
      }
    });
  }

  /** Blocks until control[index] is `seq`: polls briefly, then sleeps; stops a run at its time limit (0: none). */
  private awaitReply(index: number, seq: number, timeoutMs: number): void {
    const control = this.control;
    const spinUntil = process.hrtime.bigint() + REPLY_SPIN_NS;
    while (Atomics.load(control, index) !== seq) {
      if (process.hrtime.bigint() > spinUntil) break;
    }
    const deadline = timeoutMs > 0 ? performance.now() + timeoutMs : Infinity;
    for (let done = Atomics.load(control, index); done !== seq; done = Atomics.load(control, index)) {
      const left = deadline - performance.now();
      if (left <= 0) {
        this.stop();
        Atomics.wait(control, index, done);
      } else {
        Atomics.wait(control, index, done, left === Infinity ? undefined : left);
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
    this.kvmRun.immediateExit = true;
    pthreadKill(this.share.threadId, SIGUSR2);
  }
}
