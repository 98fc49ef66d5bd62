// A vcpu's msrs file: KVM_GET/SET_MSRS over the host's msr_index_list.
import { errno, FsError } from '../errors.js';
import { parseMsrs, renderMsrs } from '../format/msrs.js';
import { hex } from '../format/numbers.js';
import { stateFile } from './state-file.js';
import type { Attributes, SnapshotFile } from '../node.js';
import type { VcpuFd } from '../../backend/kvm/vcpu.js';
import type { MsrEntry } from '../../backend/types-state.js';
import type { HostState, SharedVcpu } from '../../backend/hypervisor.js';

/**
 * Every MSR of `indices` KVM_GET_MSRS returns, ascending. KVM stops at the
 * first MSR it cannot read (one this vcpu's CPUID lacks), so the rest is
 * asked again without it.
 */
export function readableMsrs(fd: VcpuFd, indices: number[]): MsrEntry[] {
  const read: MsrEntry[] = [];
  let rest = [...indices].sort((a, b) => a - b);
  while (rest.length > 0) {
    const got = fd.getMsrs(rest);
    read.push(...got);
    rest = rest.slice(got.length + 1);
  }
  return read;
}

/**
 * One KVM_SET_MSRS with every MSR written. KVM sets them in order and stops
 * at the first it refuses: those it took get their old values back, and the
 * write fails naming the refused one.
 */
function setMsrsWhole(fd: VcpuFd, entries: MsrEntry[]): void {
  if (entries.length === 0) return;
  const old = fd.getMsrs(entries.map((entry) => entry.index));
  const taken = fd.setMsrs(entries);
  if (taken === entries.length) return;
  fd.setMsrs(old.slice(0, taken));
  const refused = hex(entries[taken]!.index, 8);
  throw new FsError(errno.EINVAL, `MSR ${refused} (value ${hex(entries[taken]!.data, 16)}) refused by KVM_SET_MSRS; nothing changed`);
}

export function msrsFile(vcpu: SharedVcpu, host: HostState, attr: Attributes): SnapshotFile {
  return stateFile(vcpu, attr, {
    set: 'KVM_SET_MSRS',
    get: (fd) => readableMsrs(fd, host.msrIndexList),
    render: renderMsrs,
    parse: parseMsrs,
    update: setMsrsWhole,
  });
}
