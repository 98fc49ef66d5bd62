// The host thread of one vcpu. It creates the vcpu fd and makes every
// KVM_RUN on it (a vcpu that changes threads costs KVM extra work on each
// change), synchronously: while KVM_RUN blocks here, every other thread
// stays free. Runs are requested through shared memory (vcpu-protocol).
// Another thread stops a run, or pauses the vcpu for an ioctl of its own, by
// setting kvm_run.immediate_exit and sending SIGUSR2 to this thread; KVM_RUN
// returns EINTR, and the loop resumes the guest unless told to stop.
import { parentPort, workerData } from 'node:worker_threads';
import { errno as errnos, pthreadSelf, SysError } from './kvm/libc.js';
import { VmFd } from './kvm/vm.js';
import type { VcpuFd } from './kvm/vcpu.js';
import { RUN_EXITED, RUN_STOPPED, slot, type Ready, type WorkerSetup } from './vcpu-protocol.js';

const { EINTR, EIO, EBADF } = errnos;
/** How long an idle worker polls for the next request before sleeping: a run loop's next read comes within this. */
const IDLE_SPIN_NS = 200_000n;
const setup = workerData as WorkerSetup;
const control = new Int32Array(setup.control);

function errnoOf(error: unknown): number {
  return error instanceof SysError ? error.errno : EIO;
}

/** Waits while another thread makes an ioctl on the vcpu (it paused it). */
function waitWhilePaused(): void {
  for (let direct = Atomics.load(control, slot.direct); direct > 0; direct = Atomics.load(control, slot.direct)) {
    Atomics.wait(control, slot.direct, direct);
  }
}

/** One `run` read: KVM_RUN until a real exit, pausing whenever kicked for another thread's ioctl. */
function run(vcpu: VcpuFd): number {
  for (;;) {
    // Cleared, then fenced, before the checks: a kick that lands after this
    // point either is seen below or makes KVM_RUN return at once.
    vcpu.kvmRun.immediateExit = false;
    Atomics.add(control, slot.fence, 0);
    if (Atomics.load(control, slot.stopSeq) !== Atomics.load(control, slot.runStopBase)) return RUN_STOPPED;
    waitWhilePaused();
    try {
      vcpu.run();
      return RUN_EXITED;
    } catch (error) {
      if (errnoOf(error) !== EINTR) return errnoOf(error);
    }
  }
}

function waitForDoorbell(seen: number): void {
  const deadline = process.hrtime.bigint() + IDLE_SPIN_NS;
  while (Atomics.load(control, slot.doorbell) === seen) {
    if (process.hrtime.bigint() > deadline) {
      // Announced before the last look, so a ring after it is either seen
      // here or comes with a notify (SharedVcpu ringDoorbell).
      Atomics.store(control, slot.sleeping, 1);
      if (Atomics.load(control, slot.doorbell) === seen) Atomics.wait(control, slot.doorbell, seen);
      Atomics.store(control, slot.sleeping, 0);
    }
  }
}

function answerRun(result: number): void {
  const runSeq = Atomics.load(control, slot.runSeq);
  if (runSeq === Atomics.load(control, slot.runDone)) return;
  Atomics.store(control, slot.runResult, result);
  Atomics.store(control, slot.runDone, runSeq);
  Atomics.notify(control, slot.runDone);
}

/** Closes the fd once no other thread uses it; a run asked for meanwhile gets EBADF. */
function close(vcpu: VcpuFd): void {
  for (let users = Atomics.load(control, slot.users); users > 0; users = Atomics.load(control, slot.users)) {
    answerRun(EBADF);
    Atomics.wait(control, slot.users, users, 10);
  }
  vcpu.close();
  Atomics.store(control, slot.close, 2);
  Atomics.notify(control, slot.close);
}

function main(): void {
  let vcpu: VcpuFd;
  try {
    vcpu = new VmFd(setup.vmFd, setup.mmapSize).createVcpu(setup.vcpuId);
  } catch (error) {
    const failure = error instanceof SysError ? error : new SysError('KVM_CREATE_VCPU', EIO);
    parentPort!.postMessage({ ok: false, call: failure.call, errno: failure.errno, message: failure.message } satisfies Ready);
    return;
  }
  parentPort!.postMessage({ ok: true, fd: vcpu.fd, threadId: BigInt(pthreadSelf()), kvmRunPointer: vcpu.kvmRunPointer } satisfies Ready);
  let seen = 0;
  for (;;) {
    waitForDoorbell(seen);
    seen = Atomics.load(control, slot.doorbell);
    if (Atomics.load(control, slot.close)) return close(vcpu);
    if (Atomics.load(control, slot.runSeq) !== Atomics.load(control, slot.runDone)) answerRun(run(vcpu));
  }
}

main();
