// The shape of a vcpu state file (fpu, msrs, cpuid, events, ...): a read
// takes a snapshot with the vcpu paused; a write is parsed whole, then read,
// changed and set in one `idle` call (EBUSY while the vcpu runs), with one
// set ioctl. An empty or blank write changes nothing.
import type { Attributes, SnapshotFile } from '../node.js';
import type { VcpuFd } from '../../backend/kvm/vcpu.js';
import type { SharedVcpu } from '../../backend/hypervisor.js';

/** `get` for reads; `update` applies a parsed write with the vcpu idle; `set` names its ioctl for EBUSY. */
export function stateFile<State, Patch>(vcpu: SharedVcpu, attr: Attributes, spec: {
  set: string;
  get: (fd: VcpuFd) => State;
  render: (state: State) => string;
  parse: (text: string) => Patch;
  update: (fd: VcpuFd, patch: Patch) => void;
}): SnapshotFile {
  return {
    kind: 'snapshot',
    attr,
    read: () => spec.render(vcpu.paused(spec.get)),
    write(text) {
      if (text.trim() === '') return;
      const patch = spec.parse(text);
      vcpu.idle(spec.set, (fd) => spec.update(fd, patch));
    },
  };
}

