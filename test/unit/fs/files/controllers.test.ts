// The controller files' handlers over a fake VM and vcpu: what each read and
// write asks of the backend, and the errors users get (the same flows run
// against KVM in test/e2e/controllers*.test.ts).
import { describe, expect, it } from 'vitest';
import { vcpuControllerFiles, vmControllerFiles } from '../../../../src/fs/files/controllers.js';
import { interruptFile } from '../../../../src/fs/files/vcpu.js';
import { attributes, type PseudoFile, type SnapshotFile } from '../../../../src/fs/node.js';
import { errno as fsErrno } from '../../../../src/fs/errors.js';
import { errno, SysError } from '../../../../src/backend/kvm/libc.js';
import { LAPIC_REGISTERS, type LapicState, type PicState, type PitState } from '../../../../src/backend/controller-types.js';
import type { SharedVcpu, VirtualMachine } from '../../../../src/backend/hypervisor.js';

const pic = Object.fromEntries(['irr', 'imr', 'isr', 'last_irr', 'priority_add', 'irq_base', 'read_reg_select', 'poll', 'special_mask',
  'init_state', 'auto_eoi', 'rotate_on_auto_eoi', 'special_fully_nested_mode', 'init4', 'elcr', 'elcr_mask'].map((n) => [n, 0])) as PicState;
const channel = { count: 0x10000, mode: 255, gate: 1, latched_count: 0, count_latched: 0, status_latched: 0, status: 0, read_state: 0, write_state: 0, write_latch: 0, rw_mode: 0, bcd: 0, count_load_time: 5n };
const lapic = Object.fromEntries(Object.keys(LAPIC_REGISTERS).map((n) => [n, 0n])) as LapicState;

/** A VM as the files use it, recording the backend calls. */
function fakeVm() {
  const calls: unknown[][] = [];
  const needChip = (call: string) => { if (!vm.hasIrqchip) throw new SysError(call, errno.ENXIO); };
  const vm = {
    calls,
    hasIrqchip: false,
    hasPit: false,
    tssAddr: 0xfffbd000 as number | undefined,
    identityMapAddr: undefined as bigint | undefined,
    pit: { channels: [channel, channel, channel], flags: 0 } as PitState,
    createIrqchip() { calls.push(['createIrqchip']); vm.hasIrqchip = true; },
    irqLine(gsi: number, level: number) { needChip('KVM_IRQ_LINE'); calls.push(['irqLine', gsi, level]); },
    getIrqchip() { needChip('KVM_GET_IRQCHIP'); return { ...pic }; },
    setIrqchip(chip: string, state: unknown) { needChip('KVM_SET_IRQCHIP'); calls.push(['setIrqchip', chip, state]); },
    createPit() { if (vm.hasPit) throw new SysError('KVM_CREATE_PIT2', errno.EEXIST); calls.push(['createPit']); vm.hasPit = true; },
    getPit: () => vm.pit,
    setPit(state: PitState) { calls.push(['setPit', state]); },
    getClock: () => 0x1234n,
    setClock(ns: bigint) { calls.push(['setClock', ns]); },
    setTssAddr(addr: number) { if (addr > 0xffffd000) throw new SysError('KVM_SET_TSS_ADDR', errno.EINVAL); vm.tssAddr = addr; },
    setIdentityMapAddr(addr: bigint) { vm.identityMapAddr = addr; },
    stats: () => [{ name: 'remote_tlb_flush', values: [3n] }],
    vcpuStatsOf: (id: number) => [{ name: 'io_exits', values: [BigInt(id + 7)] }],
  };
  return vm;
}

function fakeVcpu(running = false) {
  const calls: unknown[][] = [];
  const fd = {
    getLapic: () => ({ bytes: new Uint8Array(1024), registers: { ...lapic } }),
    setLapic(page: unknown) { calls.push(['setLapic', page]); },
  };
  const vcpu = {
    calls,
    share: { id: 2 },
    running,
    paused: <T>(call: (f: typeof fd) => T) => call(fd),
    idle<T>(name: string, call: (f: typeof fd) => T) {
      if (vcpu.running) throw new SysError(name, errno.EBUSY);
      return call(fd);
    },
    interrupt(vector: number) { if (vector === 32) throw new SysError('KVM_INTERRUPT', errno.ENXIO); calls.push(['interrupt', vector]); },
  };
  return vcpu;
}

const attr = (mode: number) => attributes(mode, { uid: 0, gid: 0 });
const vmFiles = (vm: ReturnType<typeof fakeVm>) => new Map(vmControllerFiles({ vm: vm as unknown as VirtualMachine, file: attr }));
const vcpuFiles = (vm: ReturnType<typeof fakeVm>, vcpu: ReturnType<typeof fakeVcpu>) =>
  new Map(vcpuControllerFiles({ vm: vm as unknown as VirtualMachine, vcpu: vcpu as unknown as SharedVcpu, file: attr }));
const snapshot = (file: PseudoFile | undefined): SnapshotFile => {
  if (file?.kind !== 'snapshot') throw new Error('not a snapshot file');
  return file;
};
const read = (file: PseudoFile | undefined) => snapshot(file).read!();
const write = (file: PseudoFile | undefined, text: string) => snapshot(file).write!(text, Buffer.from(text));
const errnoOf = (call: () => unknown): number | undefined => {
  try {
    call();
  } catch (error) {
    return (error as { errno?: number }).errno ?? -1;
  }
  return undefined;
};

describe('VM controller files', () => {
  it('has the contract\'s files, stats read-only and irq write-only', () => {
    const files = vmFiles(fakeVm());
    expect([...files.keys()]).toEqual(['irqchip', 'irq', 'pic_master', 'pic_slave', 'ioapic', 'pit', 'clock', 'tss_addr', 'identity_map_addr', 'stats']);
    expect(snapshot(files.get('stats')).write).toBeUndefined();
    expect(snapshot(files.get('irq')).read).toBeUndefined();
  });

  it('irqchip: kernel creates it once; none after kernel is EINVAL; blank is a no-op', () => {
    const vm = fakeVm();
    const files = vmFiles(vm);
    expect(read(files.get('irqchip'))).toBe('none\n');
    write(files.get('irqchip'), '  \n');
    write(files.get('irqchip'), 'none\n');
    expect(vm.calls).toEqual([]);
    write(files.get('irqchip'), 'kernel\n');
    write(files.get('irqchip'), 'kernel\n');
    expect(vm.calls).toEqual([['createIrqchip']]);
    expect(read(files.get('irqchip'))).toBe('kernel\n');
    expect(errnoOf(() => write(files.get('irqchip'), 'none'))).toBe(fsErrno.EINVAL);
  });

  it('irq: a level is one KVM_IRQ_LINE, a pulse two; without an irqchip ENXIO with the reason', () => {
    const vm = fakeVm();
    const files = vmFiles(vm);
    expect(() => write(files.get('irq'), '4')).toThrow(/^KVM_IRQ_LINE: .*: the VM has no in-kernel irqchip/);
    expect(errnoOf(() => write(files.get('irq'), '4'))).toBe(fsErrno.ENXIO);
    vm.hasIrqchip = true;
    write(files.get('irq'), '4\n');
    write(files.get('irq'), '10 1\n');
    write(files.get('irq'), '');
    expect(vm.calls).toEqual([['irqLine', 4, 1], ['irqLine', 4, 0], ['irqLine', 10, 1]]);
  });

  it('pic_master: a write patches the chip and sets it whole; reads without an irqchip are ENXIO', () => {
    const vm = fakeVm();
    const files = vmFiles(vm);
    expect(errnoOf(() => read(files.get('pic_master')))).toBe(fsErrno.ENXIO);
    vm.hasIrqchip = true;
    write(files.get('pic_slave'), 'imr 0xff\nirq_base 0x28\n');
    expect(vm.calls).toEqual([['setIrqchip', 'pic_slave', { ...pic, imr: 0xff, irq_base: 0x28 }]]);
    expect(errnoOf(() => write(files.get('pic_master'), 'imr 0x100'))).toBe(-1); // a FormatError: EINVAL
    expect(vm.calls).toHaveLength(1);
  });

  it('pit: none, create, a state write patches it; create twice is KVM\'s EEXIST; state before create ENXIO', () => {
    const vm = fakeVm();
    const files = vmFiles(vm);
    expect(read(files.get('pit'))).toBe('none\n');
    expect(errnoOf(() => write(files.get('pit'), 'ch0 mode=2'))).toBe(fsErrno.ENXIO);
    write(files.get('pit'), 'none\n');
    write(files.get('pit'), 'create\n');
    expect(errnoOf(() => write(files.get('pit'), 'create'))).toBe(errno.EEXIST);
    expect(errnoOf(() => write(files.get('pit'), 'none'))).toBe(fsErrno.EINVAL);
    expect(read(files.get('pit'))).toMatch(/^ch0 count=0x10000 mode=255 gate=1 /);
    write(files.get('pit'), 'ch0 mode=2 count=11932\nflags 1\n');
    expect(vm.calls.at(-1)).toEqual(['setPit', { flags: 1, channels: [{ ...channel, mode: 2, count: 11932 }, channel, channel] }]);
  });

  it('clock, tss_addr, identity_map_addr', () => {
    const vm = fakeVm();
    const files = vmFiles(vm);
    expect(read(files.get('clock'))).toBe('clock 0x0000000000001234\n');
    write(files.get('clock'), 'clock 0x10\n');
    expect(vm.calls).toEqual([['setClock', 0x10n]]);
    expect(read(files.get('tss_addr'))).toBe('tss_addr 0x00000000fffbd000\n');
    expect(errnoOf(() => write(files.get('tss_addr'), '0xfffff000'))).toBe(errno.EINVAL);
    expect(read(files.get('tss_addr'))).toBe('tss_addr 0x00000000fffbd000\n');
    expect(read(files.get('identity_map_addr'))).toBe('none\n');
    write(files.get('identity_map_addr'), 'none\n');
    write(files.get('identity_map_addr'), 'identity_map_addr 0xfeffc000\n');
    expect(read(files.get('identity_map_addr'))).toBe('identity_map_addr 0x00000000feffc000\n');
    expect(errnoOf(() => write(files.get('identity_map_addr'), 'none'))).toBe(fsErrno.EINVAL);
  });

  it('stats renders every stat', () => {
    expect(read(vmFiles(fakeVm()).get('stats'))).toBe('remote_tlb_flush 0x0000000000000003\n');
  });
});

describe('vcpu controller files', () => {
  it('lapic: ENXIO without an irqchip; a write sets the page with the named registers changed', () => {
    const vm = fakeVm();
    const vcpu = fakeVcpu();
    const files = vcpuFiles(vm, vcpu);
    expect(errnoOf(() => read(files.get('lapic')))).toBe(fsErrno.ENXIO);
    expect(errnoOf(() => write(files.get('lapic'), 'tpr 0x40'))).toBe(fsErrno.ENXIO);
    vm.hasIrqchip = true;
    expect(read(files.get('lapic'))).toMatch(/^id 0x00000000\nversion /);
    write(files.get('lapic'), 'tpr 0x40\n');
    write(files.get('lapic'), '\n');
    expect(vcpu.calls).toEqual([['setLapic', { bytes: new Uint8Array(1024), registers: { ...lapic, tpr: 0x40n } }]]);
  });

  it('lapic: a write while the vcpu runs is EBUSY', () => {
    const vm = fakeVm();
    vm.hasIrqchip = true;
    const files = vcpuFiles(vm, fakeVcpu(true));
    expect(errnoOf(() => write(files.get('lapic'), 'tpr 0x40'))).toBe(errno.EBUSY);
  });

  it('stats are the vcpu\'s own', () => {
    expect(read(vcpuFiles(fakeVm(), fakeVcpu()).get('stats'))).toBe('io_exits 0x0000000000000009\n');
  });

  it('interrupt: KVM\'s ENXIO passes through with what to use instead', () => {
    const vcpu = fakeVcpu();
    const file = interruptFile(vcpu as unknown as SharedVcpu, attr(0o200));
    expect(errnoOf(() => write(file, '32'))).toBe(fsErrno.ENXIO);
    expect(() => write(file, '32')).toThrow(/^KVM_INTERRUPT: No such device or address: the VM has an in-kernel irqchip: raise a line with irq .* lapic/);
    write(file, '33');
    expect(vcpu.calls).toEqual([['interrupt', 33]]);
  });
});
