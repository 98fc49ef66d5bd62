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
 * One KVM_SET_MSRS with every MSR the write changes. KVM sets them in order
 * and stops at the first it refuses: those it took get their old values
 * back, and the write fails naming the refused one. MSRs written with the
 * value they have are left out, so that a read-back written unchanged is
 * taken: KVM refuses some even at their own value (MSR_KVM_ASYNC_PF_INT
 * without an in-kernel LAPIC).
 */
function setMsrsWhole(fd: VcpuFd, entries: MsrEntry[]): void {
  const old = new Map(readableMsrs(fd, entries.map((entry) => entry.index)).map((entry) => [entry.index, entry.data]));
  const changed = entries.filter((entry) => old.get(entry.index) !== entry.data);
  if (changed.length === 0) return;
  const taken = fd.setMsrs(changed);
  if (taken === changed.length) return;
  fd.setMsrs(changed.slice(0, taken).flatMap(({ index }) => (old.has(index) ? [{ index, data: old.get(index)! }] : [])));
  const refused = changed[taken]!;
  throw new FsError(errno.EINVAL, `MSR ${hex(refused.index, 8)} (value ${hex(refused.data, 16)}) refused by KVM_SET_MSRS; nothing changed`);
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
