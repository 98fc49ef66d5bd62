// The msrs file against a fake vcpu fd that behaves as KVM_GET/SET_MSRS do:
// both stop at the first MSR they refuse and return how many they did.
import { describe, expect, it } from 'vitest';
import { msrsFile, readableMsrs } from '../../../../src/fs/files/msrs.js';
import type { MsrEntry } from '../../../../src/backend/types-state.js';
import type { VcpuFd } from '../../../../src/backend/kvm/vcpu.js';
import type { HostState, SharedVcpu } from '../../../../src/backend/hypervisor.js';

/** MSRs the fake KVM knows, and the largest value it takes for each. */
function fakeVcpu(known: Map<number, bigint>, limit = 0xffffn) {
  const calls: string[] = [];
  const fd = {
    getMsrs(indices: number[]): MsrEntry[] {
      calls.push(`get ${indices.map((i) => i.toString(16)).join(',')}`);
      const read: MsrEntry[] = [];
      for (const index of indices) {
        const data = known.get(index);
        if (data === undefined) break;
        read.push({ index, data });
      }
      return read;
    },
    setMsrs(entries: MsrEntry[]): number {
      calls.push(`set ${entries.map((e) => `${e.index.toString(16)}=${e.data.toString(16)}`).join(',')}`);
      let taken = 0;
      for (const { index, data } of entries) {
        if (!known.has(index) || data > limit) break;
        known.set(index, data);
        taken++;
      }
      return taken;
    },
  } as unknown as VcpuFd;
  const vcpu = { paused: <T>(call: (f: VcpuFd) => T) => call(fd), idle: <T>(_: string, call: (f: VcpuFd) => T) => call(fd) } as unknown as SharedVcpu;
  return { fd, vcpu, calls };
}

const host = (indices: number[]) => ({ msrIndexList: indices }) as unknown as HostState;
const attr = { mode: 0o600, uid: 0, gid: 0, ctime: new Date(0), mtime: new Date(0) };

describe('readableMsrs', () => {
  it('asks again past each MSR KVM cannot read, and lists the rest ascending', () => {
    const { fd, calls } = fakeVcpu(new Map([[0x10, 1n], [0x174, 2n], [0xc0000080, 3n]]));
    expect(readableMsrs(fd, [0xc0000080, 0x99, 0x174, 0x10, 0x98])).toEqual([
      { index: 0x10, data: 1n }, { index: 0x174, data: 2n }, { index: 0xc0000080, data: 3n },
    ]);
    expect(calls).toEqual(['get 10,98,99,174,c0000080', 'get 99,174,c0000080', 'get 174,c0000080']);
  });
});

describe('msrs file', () => {
  it('reads the index list\'s readable MSRs as lines', () => {
    const { vcpu } = fakeVcpu(new Map([[0x174, 0x10n], [0x175, 0n]]));
    expect(msrsFile(vcpu, host([0x175, 0x174, 0x176]), attr).read!()).toBe('0x00000174 0x0000000000000010\n0x00000175 0x0000000000000000\n');
  });

  it('a write is one KVM_SET_MSRS of every MSR named, in the order written', () => {
    const known = new Map([[0x174, 0n], [0x175, 0n]]);
    const { vcpu, calls } = fakeVcpu(known);
    msrsFile(vcpu, host([]), attr).write!('0x175 0x20\n0x174 16\n', Buffer.alloc(0));
    expect(known).toEqual(new Map([[0x174, 16n], [0x175, 0x20n]]));
    expect(calls.filter((c) => c.startsWith('set'))).toEqual(['set 175=20,174=10']);
  });

  it('when KVM refuses one, those it took get their old values back and the write fails naming it', () => {
    const known = new Map([[0x174, 1n], [0x175, 2n], [0x176, 3n]]);
    const { vcpu, calls } = fakeVcpu(known);
    const file = msrsFile(vcpu, host([]), attr);
    expect(() => file.write!('0x174 0x10\n0x175 0x20\n0x176 0x10000\n', Buffer.alloc(0))).toThrow(expect.objectContaining({
      errno: 22, message: 'MSR 0x00000176 (value 0x0000000000010000) refused by KVM_SET_MSRS; nothing changed',
    }));
    expect(known).toEqual(new Map([[0x174, 1n], [0x175, 2n], [0x176, 3n]]));
    expect(calls).toEqual(['get 174,175,176', 'set 174=10,175=20,176=10000', 'set 174=1,175=2']);
  });

  it('an empty or blank write changes nothing and makes no ioctl', () => {
    const { vcpu, calls } = fakeVcpu(new Map([[0x174, 1n]]));
    msrsFile(vcpu, host([]), attr).write!(' \n\t\n', Buffer.from(' \n\t\n'));
    expect(calls).toEqual([]);
  });

  it('a write that does not parse makes no ioctl', () => {
    const { vcpu, calls } = fakeVcpu(new Map([[0x174, 1n]]));
    expect(() => msrsFile(vcpu, host([]), attr).write!('0x174 1\n0x175', Buffer.alloc(0))).toThrow(expect.objectContaining({ name: 'FormatError' }));
    expect(calls).toEqual([]);
  });
});
