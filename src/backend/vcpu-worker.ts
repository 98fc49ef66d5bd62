// The host thread of one vcpu. It creates the vcpu fd and makes every ioctl
// on it, synchronously: while KVM_RUN blocks here, every other thread stays
// free. Requests come through shared memory (vcpu-protocol). Another thread
// stops a run, or has it paused for a state request, by setting
// kvm_run.immediate_exit and sending SIGUSR2 to this thread; KVM_RUN
// returns EINTR, the loop serves the request and resumes the guest unless
// told to stop.
import { parentPort, workerData } from 'node:worker_threads';
import { errno as errnos, pthreadSelf, SysError } from './kvm/libc.js';
import { VmFd } from './kvm/vm.js';
import type { VcpuFd } from './kvm/vcpu.js';
import { REGS_SIZE, SREGS_SIZE } from './kvm/codec.js';
import { RUN_EXITED, RUN_STOPPED, slot, stateOps, type Ready, type WorkerSetup } from './vcpu-protocol.js';

const { EINTR, EIO, EBADF, EINVAL } = errnos;
/** How long an idle worker polls for the next request before sleeping: a run loop's next read comes within this. */
const IDLE_SPIN_NS = 200_000n;
const setup = workerData as WorkerSetup;
const control = new Int32Array(setup.control);
const data = new Uint8Array(setup.data);

function errnoOf(error: unknown): number {
  return error instanceof SysError ? error.errno : EIO;
}

/** Serves the pending state request, if any. */
function serveState(vcpu: VcpuFd): void {
  const seq = Atomics.load(control, slot.stateSeq);
  if (seq === Atomics.load(control, slot.stateDone)) return;
  let errno = 0;
  try {
    switch (Atomics.load(control, slot.stateOp)) {
      case stateOps.getRegs: vcpu.getRegsRaw(data.subarray(0, REGS_SIZE)); break;
      case stateOps.setRegs: vcpu.setRegsRaw(data.subarray(0, REGS_SIZE)); break;
      case stateOps.getSregs: vcpu.getSregsRaw(data.subarray(0, SREGS_SIZE)); break;
      case stateOps.setSregs: vcpu.setSregsRaw(data.subarray(0, SREGS_SIZE)); break;
      case stateOps.interrupt: vcpu.interrupt(Atomics.load(control, slot.stateArg)); break;
      default: errno = EINVAL;
    }
  } catch (error) {
    errno = errnoOf(error);
  }
  Atomics.store(control, slot.stateErrno, errno);
  Atomics.store(control, slot.stateDone, seq);
  Atomics.notify(control, slot.stateDone);
}

/** One `run` read: KVM_RUN until a real exit, serving state requests whenever kicked out. */
function run(vcpu: VcpuFd): number {
  for (;;) {
    // Cleared, then fenced, before the checks: a kick that lands after this
    // point either is seen below or makes KVM_RUN return at once.
    vcpu.kvmRun.immediateExit = false;
    Atomics.add(control, slot.fence, 0);
    serveState(vcpu);
    if (Atomics.load(control, slot.stopSeq) !== Atomics.load(control, slot.runStopBase)) return RUN_STOPPED;
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

function answerState(errno: number): void {
  const seq = Atomics.load(control, slot.stateSeq);
  if (seq === Atomics.load(control, slot.stateDone)) return;
  Atomics.store(control, slot.stateErrno, errno);
  Atomics.store(control, slot.stateDone, seq);
  Atomics.notify(control, slot.stateDone);
}

function answerRun(result: number): void {
  const runSeq = Atomics.load(control, slot.runSeq);
  if (runSeq === Atomics.load(control, slot.runDone)) return;
  Atomics.store(control, slot.runResult, result);
  Atomics.store(control, slot.runDone, runSeq);
  Atomics.notify(control, slot.runDone);
}

/** Closes the fd once no other thread uses it; a run or state request asked for meanwhile gets EBADF. */
function close(vcpu: VcpuFd): void {
  for (let users = Atomics.load(control, slot.users); users > 0; users = Atomics.load(control, slot.users)) {
    answerRun(EBADF);
    answerState(EBADF);
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
  parentPort!.postMessage({ ok: true, threadId: BigInt(pthreadSelf()), kvmRunPointer: vcpu.kvmRunPointer } satisfies Ready);
  let seen = 0;
  for (;;) {
    waitForDoorbell(seen);
    seen = Atomics.load(control, slot.doorbell);
    if (Atomics.load(control, slot.close)) return close(vcpu);
    serveState(vcpu);
    if (Atomics.load(control, slot.runSeq) !== Atomics.load(control, slot.runDone)) answerRun(run(vcpu));
  }
}

main();
