// The host thread of one vcpu. It creates the vcpu fd and makes every ioctl
// on it (KVM prefers the creating thread), synchronously: while KVM_RUN
// blocks here, the JS main thread stays free. The main thread stops a run by
// setting kvm_run.immediate_exit and sending SIGUSR2 to this thread, which
// makes KVM_RUN return EINTR; the loop then serves the requests that were
// queued (a regs snapshot, a stop) and resumes the guest unless told to stop.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { pthreadSelf, SysError } from './kvm/libc.js';
import type { VcpuFd } from './kvm/vcpu.js';
import { VmFd } from './kvm/vm.js';
import type { Ready, Reply, Request, StateRequest, WorkerSetup } from './vcpu-protocol.js';
import type { ExitInput, Regs, Sregs, VcpuExit } from './types.js';

const EINTR = 4;
const setup = workerData as WorkerSetup;
const doorbell = new Int32Array(setup.doorbell);
const port = parentPort!;

function nextRequest(block: boolean): Request | undefined {
  for (;;) {
    const received = receiveMessageOnPort(setup.requests);
    if (received) return received.message as Request;
    if (!block) return undefined;
    const seen = Atomics.load(doorbell, 0);
    const again = receiveMessageOnPort(setup.requests);
    if (again) return again.message as Request;
    Atomics.wait(doorbell, 0, seen);
  }
}

function failure(id: number, error: unknown): Reply {
  if (error instanceof SysError) return { id, ok: false, call: error.call, errno: error.errno, message: error.message };
  return { id, ok: false, call: 'vcpu thread', errno: 5, message: String(error) };
}

function serveState(vcpu: VcpuFd, request: StateRequest & { id: number }): Reply {
  try {
    switch (request.op) {
      case 'getRegs':
        return { id: request.id, ok: true, value: vcpu.getRegs() };
      case 'setRegs':
        vcpu.setRegs(request.regs as Regs);
        return { id: request.id, ok: true };
      case 'getSregs':
        return { id: request.id, ok: true, value: vcpu.getSregs() };
      case 'setSregs':
        vcpu.setSregs(request.sregs as Sregs);
        return { id: request.id, ok: true };
      case 'interrupt':
        vcpu.interrupt(request.vector);
        return { id: request.id, ok: true };
    }
  } catch (error) {
    return failure(request.id, error);
  }
}

/** One `run` read: KVM_RUN until a real exit, serving requests whenever kicked out. */
function run(vcpu: VcpuFd, id: number, lastExit: VcpuExit | undefined, input: ExitInput | undefined): Reply {
  if (lastExit && input) vcpu.writeExitInput(lastExit, input);
  for (;;) {
    // Cleared before the queue is drained: a kick that lands after this
    // point either is seen in the queue or makes KVM_RUN return at once.
    vcpu.immediateExit = false;
    let stopped = false;
    for (let request = nextRequest(false); request; request = nextRequest(false)) {
      if (request.op === 'stop') {
        stopped = true;
        port.postMessage({ id: request.id, ok: true } satisfies Reply);
      } else if (request.op === 'run' || request.op === 'close') port.postMessage(failure(request.id, new SysError('KVM_RUN', 16)));
      else port.postMessage(serveState(vcpu, request));
    }
    if (stopped) return { id, ok: true, value: { kind: 'intr' } };
    try {
      vcpu.run();
      return { id, ok: true, value: vcpu.readExit() };
    } catch (error) {
      if (error instanceof SysError && error.errno === EINTR) continue;
      return failure(id, error);
    }
  }
}

function main(): void {
  let vcpu: VcpuFd;
  try {
    vcpu = new VmFd(setup.vmFd, setup.mmapSize).createVcpu(setup.vcpuId);
  } catch (error) {
    const reply = failure(0, error) as Extract<Reply, { ok: false }>;
    port.postMessage({ ok: false, call: reply.call, errno: reply.errno, message: reply.message } satisfies Ready);
    return;
  }
  port.postMessage({ ok: true, threadId: pthreadSelf(), kvmRunPointer: vcpu.kvmRunPointer } satisfies Ready);
  let lastExit: VcpuExit | undefined;
  for (;;) {
    const request = nextRequest(true)!;
    switch (request.op) {
      case 'run': {
        const reply = run(vcpu, request.id, lastExit, request.input);
        lastExit = reply.ok ? (reply.value as VcpuExit) : undefined;
        port.postMessage(reply);
        break;
      }
      case 'stop':
        port.postMessage({ id: request.id, ok: true } satisfies Reply);
        break;
      case 'close':
        vcpu.close();
        port.postMessage({ id: request.id, ok: true } satisfies Reply);
        return;
      default:
        port.postMessage(serveState(vcpu, request));
    }
  }
}

main();
