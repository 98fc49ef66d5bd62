// The shape of a vcpu state file (regs, sregs, fpu, msrs, cpuid, events,
// ...): a read takes a snapshot with the vcpu paused; a write is parsed
// whole, then read, changed and set in one `idle` call (EBUSY while the
// vcpu runs), with one set ioctl. An empty or blank write changes nothing.
import type { Attributes, OffThread, SnapshotFile } from '../node.js';
import type { VcpuFd } from '../../backend/kvm/vcpu.js';
import type { SharedVcpu } from '../../backend/hypervisor.js';

/**
 * `get` for reads; `update` applies a parsed write with the vcpu idle; `set`
 * names its ioctl for EBUSY. `offThread`: reader threads may serve it too;
 * `cacheRead` may keep what a read rendered (regs).
 */
export function stateFile<State, Patch>(vcpu: SharedVcpu, attr: Attributes, spec: {
  set: string;
  get: (fd: VcpuFd) => State;
  render: (state: State) => string;
  parse: (text: string) => Patch;
  update: (fd: VcpuFd, patch: Patch) => void;
  offThread?: OffThread;
  cacheRead?: (vcpu: SharedVcpu, render: () => string) => () => string;
}): SnapshotFile {
  const read = () => spec.render(vcpu.paused(spec.get));
  return {
    kind: 'snapshot',
    attr,
    offThread: spec.offThread,
    read: spec.cacheRead ? spec.cacheRead(vcpu, read) : read,
    write(text) {
      if (text.trim() === '') return;
      const patch = spec.parse(text);
      vcpu.idle(spec.set, (fd) => spec.update(fd, patch));
    },
  };
}

