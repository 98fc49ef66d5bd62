// kvmfs save against a fake mount (the e2e test does it through a real one).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { save } from '../../../../src/cli/save-restore/save.js';
import { parseManifest, parseRanges } from '../../../../src/cli/save-restore/manifest.js';
import { FakeMount, makeVm, VCPU_STATE, VM_STATE } from './fake-mount.js';

const PAGE = 4096;
const work = mkdtempSync(join(tmpdir(), 'kvmfs-save-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let saves = 0;
const newDir = () => join(work, `s${saves++}`);
const manifestOf = (dir: string) => parseManifest(readFileSync(join(dir, 'manifest'), 'utf8'));
const rangesOf = (dir: string) => parseRanges(readFileSync(join(dir, 'memory.ranges'), 'utf8'), manifestOf(dir).memorySize);

describe('kvmfs save', () => {
  it('copies every state file, byte for byte, into a directory laid out like the VM', () => {
    const mount = new FakeMount('/m');
    const vm = makeVm(mount, 'vm0');
    const dir = newDir();
    const { manifest } = save({ vmDir: vm, saveDir: dir, files: mount });
    expect(readdirSync(dir).sort()).toEqual([...VM_STATE, 'manifest', 'memory', 'memory.ranges', 'vcpu0', 'vcpu1'].sort());
    expect(readdirSync(join(dir, 'vcpu1')).sort()).toEqual([...VCPU_STATE].sort());
    expect(readFileSync(join(dir, 'vcpu1/regs'), 'utf8')).toBe('regs of vm0 vcpu1\n');
    expect(readFileSync(join(dir, 'irqchip'), 'utf8')).toBe('kernel\n');
    expect([...readFileSync(join(dir, 'vcpu1/xsave'))]).toEqual([1, 0, 0xff, 0, 10, 13]);
    expect(manifest).toMatchObject({ format: 1, vm: '/m/vm0', memorySize: 1 << 20, memoryPages: 3, vcpus: [0, 1], missing: [] });
    expect(manifest.saved).toHaveLength(VM_STATE.length + 2 * VCPU_STATE.length);
    expect(manifestOf(dir)).toEqual(manifest);
    expect(existsSync(`${dir}.partial-${process.pid}`)).toBe(false);
  });

  it('keeps memory sparse: the non-zero pages, at their addresses, holes elsewhere', () => {
    const mount = new FakeMount('/m');
    const vm = makeVm(mount, 'vm0');
    const dir = newDir();
    const { pagesWritten } = save({ vmDir: vm, saveDir: dir, files: mount });
    expect(pagesWritten).toBe(3);
    expect(rangesOf(dir)).toEqual([[PAGE, 2 * PAGE], [0x80 * PAGE, PAGE]]);
    const image = statSync(join(dir, 'memory'));
    expect(image.size).toBe(1 << 20);
    expect(image.blocks * 512).toBeLessThanOrEqual(64 * 1024); // 12 KiB of data (plus what the filesystem rounds up to)
    expect(readFileSync(join(dir, 'memory')).equals(mount.vms.get('vm0')!.memory)).toBe(true);
  });

  it('without an irqchip, the chips\' files and lapic say "none" and are not read', () => {
    const mount = new FakeMount('/m');
    const vm = makeVm(mount, 'bare', { bare: true }); // reading them would be ENXIO
    const dir = newDir();
    save({ vmDir: vm, saveDir: dir, files: mount });
    for (const file of ['irqchip', 'pit', 'pic_master', 'pic_slave', 'ioapic', 'vcpu0/lapic']) {
      expect(readFileSync(join(dir, file), 'utf8'), file).toBe('none\n');
    }
  });

  it('reads dirty_log exactly once, and an increment holds exactly the pages written since', () => {
    const mount = new FakeMount('/m');
    const vm = makeVm(mount, 'vm0');
    const base = newDir();
    save({ vmDir: vm, saveDir: base, files: mount });
    expect(mount.vms.get('vm0')!.dirtyLogReads).toBe(1);
    mount.guestWrite('vm0', 0x10 * PAGE, Buffer.from('new'));
    mount.guestWrite('vm0', 0x11 * PAGE + 100, Buffer.from('newer'));
    mount.guestWrite('vm0', 0x80 * PAGE, Buffer.alloc(16)); // page 0x80 is all zero again
    const dir = newDir();
    const { manifest, pagesWritten } = save({ vmDir: vm, saveDir: dir, since: base, files: mount });
    expect(mount.vms.get('vm0')!.dirtyLogReads).toBe(2);
    expect(rangesOf(dir)).toEqual([[0x10 * PAGE, 2 * PAGE], [0x80 * PAGE, PAGE]]);
    expect(manifest.memoryPages).toBe(3);
    expect(pagesWritten).toBe(2); // page 0x80 is a hole, listed so that restore zeroes it
    expect(manifest.since).toEqual({ path: `../${base.split('/').pop()}`, id: manifestOf(base).id });
    // nothing written since: an empty increment
    const idle = newDir();
    expect(save({ vmDir: vm, saveDir: idle, since: dir, files: mount }).manifest.memoryPages).toBe(0);
  });

  it('fails naming every file the mount does not serve, and saves nothing', () => {
    const mount = new FakeMount('/m', new Set([...VM_STATE, ...VCPU_STATE].filter((f) => f !== 'xsave' && f !== 'clock')));
    const vm = makeVm(mount, 'vm0');
    const dir = newDir();
    expect(() => save({ vmDir: vm, saveDir: dir, files: mount })).toThrow(
      'the mount does not serve clock, vcpu0/xsave, vcpu1/xsave (in /m/vm0): nothing was saved; `kvmfs save --partial` saves the rest');
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`${dir}.partial-${process.pid}`)).toBe(false);
    expect(mount.vms.get('vm0')!.dirtyLogReads).toBe(0); // refused before the baseline moved
  });

  it('--partial saves the rest and lists what is missing', () => {
    const mount = new FakeMount('/m', new Set(['regs', 'sregs'])); // today's mount
    const vm = makeVm(mount, 'vm0', { bare: true });
    const dir = newDir();
    const { manifest } = save({ vmDir: vm, saveDir: dir, files: mount, partial: true });
    expect(manifest.saved).toEqual(['vcpu0/sregs', 'vcpu0/regs', 'vcpu1/sregs', 'vcpu1/regs']);
    expect(manifest.missing).toContain('irqchip');
    expect(manifest.missing).toContain('vcpu1/mp_state');
    expect(manifest.missing).toContain('vcpu1/lapic'); // no irqchip file to say it has none: looked for, and missing
    expect(readFileSync(join(dir, 'manifest'), 'utf8')).toContain('missing vcpu0/xsave\n');
  });

  it.each([
    ['a non-empty directory', (dir: string) => { mkdirSync(dir); writeFileSync(join(dir, 'x'), ''); }, 'already exists and is not an empty directory'],
    ['a file', (dir: string) => writeFileSync(dir, ''), 'already exists and is not an empty directory'],
  ])('never saves over %s', (_, make, message) => {
    const mount = new FakeMount('/m');
    const vm = makeVm(mount, 'vm0');
    const dir = newDir();
    make(dir);
    expect(() => save({ vmDir: vm, saveDir: dir, files: mount })).toThrow(message);
    expect(mount.vms.get('vm0')!.dirtyLogReads).toBe(0); // refused before the baseline moved
  });

  it('saves into an existing empty directory', () => {
    const mount = new FakeMount('/m');
    const dir = newDir();
    mkdirSync(dir);
    save({ vmDir: makeVm(mount, 'vm0'), saveDir: dir, files: mount });
    expect(existsSync(join(dir, 'manifest'))).toBe(true);
  });

  it('refuses a directory that is not a VM, and --since of another VM', () => {
    const mount = new FakeMount('/m');
    makeVm(mount, 'vm0');
    const other = makeVm(mount, 'vm1');
    expect(() => save({ vmDir: '/m', saveDir: newDir(), files: mount })).toThrow('/m is not a kvmfs VM directory');
    const base = newDir();
    save({ vmDir: '/m/vm0', saveDir: base, files: mount });
    expect(() => save({ vmDir: other, saveDir: newDir(), since: base, files: mount })).toThrow(`--since ${base} is a save of /m/vm0, not of /m/vm1`);
    expect(() => save({ vmDir: other, saveDir: newDir(), since: join(work, 'nothing'), files: mount })).toThrow('not a kvmfs save (no manifest)');
  });

  it('a read the mount refuses names the file and the VM\'s last_error, and saves nothing', () => {
    const mount = new FakeMount('/m');
    const vm = makeVm(mount, 'vm0');
    mount.refuseRead.set('vm0/vcpu1/msrs', ['EIO', 'vcpu1/msrs: KVM_GET_MSRS: Input/output error']);
    const dir = newDir();
    expect(() => save({ vmDir: vm, saveDir: dir, files: mount, partial: true })).toThrow(
      /^cannot read vcpu1\/msrs: EIO: .* \(last_error: vcpu1\/msrs: KVM_GET_MSRS: Input\/output error\); dirty_log was read, so make the next save a full one \(an increment since the save before would miss pages\)$/);
    expect(existsSync(dir)).toBe(false);
  });
});
