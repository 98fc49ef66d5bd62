// One thread of the raw scaling baseline: a vcpu of its own in the VM it is
// given, running the exit loop with KVM_RUN through koffi for a fixed time.
import { parentPort, workerData } from 'node:worker_threads';
import { VmFd } from '../backend/kvm/vm.js';
import { pointAtExitLoop } from './raw.js';

const { vmFd, mmapSize, vcpuId, ms } = workerData as { vmFd: number; mmapSize: number; vcpuId: number; ms: number };
const vcpu = new VmFd(vmFd, mmapSize).createVcpu(vcpuId);
pointAtExitLoop(vcpu);
let exits = 0;
const end = Date.now() + ms;
while (Date.now() < end) {
  for (let i = 0; i < 100; i++) vcpu.run();
  exits += 100;
}
vcpu.close();
parentPort!.postMessage((exits * 1000) / ms);
