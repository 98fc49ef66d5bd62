// One vcpu as any thread sees it: the JS main thread and the FUSE reader
// threads each attach to the same shared state (vcpu-protocol). The thread
// serving a `run` read claims the vcpu and makes KVM_RUN itself, so a run
// costs no thread hand-off; a run holds that thread, and N vcpus run on N
// threads at once. The other ioctls are made directly by the thread that
// needs them, with the vcpu paused if it runs (QEMU's run_on_cpu): KVM's
// per-vcpu mutex makes the ioctl wait for KVM_RUN to return, and the
// running thread does not enter KVM_RUN again until the ioctl is done.
// A run is stopped (the stop file, the run time limit, an interrupted
// read) by setting kvm_run.immediate_exit and sending SIGUSR2 to the
// running thread: KVM_RUN returns EINTR (how QEMU and Firecracker kick vcpus).
import { errno, pthreadKill, pthreadSelf, SIGUSR2, SysError } from './kvm/libc.js';
import { Activity } from '../sys/activity.js';
import { VcpuFd } from './kvm/vcpu.js';
import { DEADLINE_OFFSET, lastRun, RUNNER_OFFSET, slot, waitWhileDirect, type VcpuShare } from './vcpu-protocol.js';
import { GuestDebugState } from './guest-debug.js';
import { Console } from './console.js';
import type { ExitInput, VcpuExit } from './types.js';

const { EBADF, EBUSY, EINTR, EIO } = errno;

// A signal with no handler would kill the process; with one, it only makes
// the running thread's KVM_RUN return EINTR (other system calls restart).
process.on('SIGUSR2', () => {});

/** This thread's pthread_t, the target of kicks while it runs a vcpu (asked once: it is a call into libc). */
let thisThread: bigint | undefined;

type RunResult = { kind: 'exited' } | { kind: 'stopped' } | { kind: 'failed'; errno: number };

export class SharedVcpu {
  private readonly control: Int32Array;
  private readonly runner: BigInt64Array;
  private readonly deadlineSlot: Float64Array;
  private readonly activity: Activity;
  private readonly fd: VcpuFd;
  /** KVM_SET_GUEST_DEBUG as last set; a run steps over an exec breakpoint at rip */
  readonly guestDebug: GuestDebugState;
  private readonly console: Console;

  constructor(readonly share: VcpuShare) {
    this.control = new Int32Array(share.control, 0, slot.count);
    this.runner = new BigInt64Array(share.control, RUNNER_OFFSET, 1);
    this.deadlineSlot = new Float64Array(share.control, DEADLINE_OFFSET, 1);
    this.activity = new Activity(share.activity);
    this.fd = VcpuFd.attach(share.fd, share.kvmRunPointer, share.mmapSize);
    this.guestDebug = new GuestDebugState(share.guestDebug, this.control);
    this.console = new Console(share.console);
  }

  /** Whether a `run` read is in progress (running, or paused for another thread's ioctl). */
  get running(): boolean {
    return Atomics.load(this.control, slot.runOwner) === 1;
  }

  /** When the run in progress is due to be stopped (ms since the epoch; Infinity: never). */
  get deadline(): number {
    return this.deadlineSlot[0]!;
  }

  /**
   * Changes whenever the registers may have changed (a run, a state write),
   * so a copy taken at one version is still KVM's state while the version
   * holds (QEMU keeps a vcpu's registers the same way, fetched once per exit).
   * Undefined while the vcpu runs.
   */
  get stateVersion(): number | undefined {
    // running first: a run that ends after this load has bumped the version by the next
    if (this.running) return undefined;
    return Atomics.load(this.control, slot.stateVersion);
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
   * KVM_RUN on this thread until the next exit to user space. `intr` when
   * stopped, or past `timeoutMs` (0: no limit; the RunWatchdog stops it).
   * EBUSY if another run is in progress.
   */
  run(timeoutMs: number): VcpuExit {
    const control = this.control;
    return this.use(() => {
      // Read before the claim: a stop that comes after the claim stops this run.
      const stopBase = Atomics.load(control, slot.stopSeq);
      if (Atomics.compareExchange(control, slot.runOwner, 0, 1) !== 0) throw new SysError(EBUSY, 'KVM_RUN: a run is already in progress on this vcpu');
      let last: number = lastRun.none;
      try {
        Atomics.store(control, slot.lastRun, lastRun.none);
        Atomics.store(control, slot.runStopBase, stopBase);
        this.deadlineSlot[0] = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
        thisThread ??= BigInt(pthreadSelf());
        Atomics.store(this.runner, 0, thisThread);
        this.activity.begin();
        const result = this.guestDebug.run(this.fd, () => this.runUntilExit());
        if (result.kind === 'failed') throw new SysError('KVM_RUN', result.errno);
        last = result.kind === 'stopped' ? lastRun.stopped : lastRun.exited;
        return result.kind === 'stopped' ? { kind: 'intr' } : this.fd.kvmRun.readExit();
      } finally {
        Atomics.add(control, slot.stateVersion, 1);
        this.deadlineSlot[0] = Infinity; // until the next run sets its own (newControlBlock)
        Atomics.store(this.runner, 0, 0n);
        this.activity.end();
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

  /** KVM_INTERRUPT; a running vcpu is paused for it, as for a snapshot. */
  interrupt(vector: number): void {
    this.paused((fd) => fd.interrupt(vector));
  }

  /** Input for the `io in` / `mmio read` in lastExit, delivered by the next run. */
  supplyInput(exit: VcpuExit, input: ExitInput): void {
    this.idle('KVM_RUN', (fd) => fd.kvmRun.writeInput(exit, input));
  }

  /** KVM_RUN until a real exit, pausing whenever kicked for another thread's ioctl. */
  private runUntilExit(): RunResult {
    const control = this.control;
    for (;;) {
      // Cleared, then fenced, before the checks: a kick that lands after this
      // point either is seen below or makes KVM_RUN return at once.
      this.fd.kvmRun.immediateExit = false;
      Atomics.add(control, slot.fence, 0);
      if (Atomics.load(control, slot.stopSeq) !== Atomics.load(control, slot.runStopBase)) return { kind: 'stopped' };
      waitWhileDirect(control);
      try {
        this.fd.run();
        // An exit the console consumes is no exit: the guest runs on, on this thread.
        if (this.console.consume(this.fd.kvmRun)) continue;
        return { kind: 'exited' };
      } catch (error) {
        const code = error instanceof SysError ? error.errno : EIO;
        if (code !== EINTR) return { kind: 'failed', errno: code };
      }
    }
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

  /**
   * An ioctl with the vcpu paused: a running vcpu is kicked out of KVM_RUN
   * and waits until `call` returns. Reads of vcpu state go through here.
   */
  paused<T>(call: (fd: VcpuFd) => T): T {
    return this.use(() => {
      Atomics.add(this.control, slot.direct, 1);
      try {
        if (this.running) this.kick();
        return call(this.fd);
      } finally {
        if (Atomics.sub(this.control, slot.direct, 1) === 1) Atomics.notify(this.control, slot.direct);
      }
    });
  }

  /**
   * An ioctl only an idle vcpu takes (EBUSY, named `name`, while it runs):
   * state writes go through here. The state version moves on, since a write
   * may change what KVM_GET_REGS returns.
   */
  idle<T>(name: string, call: (fd: VcpuFd) => T): T {
    return this.paused((fd) => {
      if (this.running) throw new SysError(`${name} (the vcpu is running: write stop first)`, EBUSY);
      try {
        return call(fd);
      } finally {
        Atomics.add(this.control, slot.stateVersion, 1);
      }
    });
  }

  /** Makes a KVM_RUN in progress (or the next one) return EINTR. */
  private kick(): void {
    this.fd.kvmRun.immediateExit = true;
    const thread = Atomics.load(this.runner, 0);
    if (thread !== 0n) pthreadKill(thread, SIGUSR2);
  }
}
