// The in-process baselines: the same exit loop driven by raw KVM_RUN through
// koffi, no FUSE, no threads in between; and the same on N threads at once,
// the most a host lets N vcpus' exits scale.
import { Worker } from 'node:worker_threads';
import { Kvm } from '../backend/kvm/system.js';
import { GuestMemory } from '../backend/guest-memory.js';
import type { VcpuFd } from '../backend/kvm/vcpu.js';
import type { VmFd } from '../backend/kvm/vm.js';

/** Guest RAM with `out %al,$0xe9; jmp .-2` at 0x1000. */
function exitLoopVm(kvm: Kvm): { vm: VmFd; memory: GuestMemory } {
  const vm = kvm.createVm();
  const memory = new GuestMemory(vm);
  memory.grow(1 << 20);
  memory.write(0x1000, Uint8Array.from([0xe6, 0xe9, 0xeb, 0xfc]));
  return { vm, memory };
}

/** Real mode, cs base 0, rip at the exit loop. */
export function pointAtExitLoop(vcpu: VcpuFd): void {
  const sregs = vcpu.getSregs();
  sregs.cs.base = 0n;
  sregs.cs.selector = 0;
  vcpu.setSregs(sregs);
  vcpu.setRegs({ ...vcpu.getRegs(), rip: 0x1000n });
}

/** µs per exit over `exits` KVM_RUNs on this thread. */
export function rawExitLoop(exits: number): number {
  const kvm = Kvm.open();
  const { vm, memory } = exitLoopVm(kvm);
  try {
    const vcpu = vm.createVcpu(0);
    pointAtExitLoop(vcpu);
    const started = process.hrtime.bigint();
    for (let i = 0; i < exits; i++) {
      vcpu.run();
      vcpu.kvmRun.readExit();
    }
    const elapsed = Number(process.hrtime.bigint() - started);
    vcpu.close();
    return elapsed / exits / 1000;
  } finally {
    vm.close();
    memory.release();
    kvm.close();
  }
}

/** Exits per second of `vcpus` vcpus of one VM, each looping on a thread of its own for `ms`. */
export async function rawExitsPerSecond(vcpus: number, ms: number): Promise<number> {
  const kvm = Kvm.open();
  const { vm, memory } = exitLoopVm(kvm);
  try {
    const rates = await Promise.all(Array.from({ length: vcpus }, (_, vcpuId) => new Promise<number>((resolve, reject) => {
      const worker = new Worker(new URL('./raw-worker.js', import.meta.url), { workerData: { vmFd: vm.fd, mmapSize: vm.vcpuMmapSize, vcpuId, ms } });
      worker.once('message', resolve);
      worker.once('error', reject);
    })));
    return rates.reduce((a, b) => a + b, 0);
  } finally {
    vm.close();
    memory.release();
    kvm.close();
  }
}
