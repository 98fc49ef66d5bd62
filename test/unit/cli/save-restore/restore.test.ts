// kvmfs restore against a fake mount that keeps KVM's order rules (the e2e
// test does it through a real one).
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { restore } from '../../../../src/cli/save-restore/restore.js';
import { save } from '../../../../src/cli/save-restore/save.js';
import { FakeMount, makeVm, vmState } from './fake-mount.js';

const PAGE = 4096;
const work = mkdtempSync(join(tmpdir(), 'kvmfs-restore-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let saves = 0;
const newDir = () => join(work, `s${saves++}`);

function savedVm(options: { bare?: boolean; vcpus?: number } = {}): { mount: FakeMount; dir: string } {
  const mount = new FakeMount('/m');
  const dir = newDir();
  save({ vmDir: makeVm(mount, 'vm0', options), saveDir: dir, files: mount });
  return { mount, dir };
}

describe('kvmfs restore', () => {
  it('makes a clone equal to the VM saved, state and memory', () => {
    const { mount, dir } = savedVm();
    const result = restore({ saveDir: dir, vmDir: '/m/clone', files: mount });
    expect(result.chain.map((s) => s.dir)).toEqual([dir]);
    expect(vmState(mount, 'clone')).toEqual(vmState(mount, 'vm0'));
  });

  it('writes in the order KVM needs, leaving out writes that would change nothing', () => {
    const { mount, dir } = savedVm();
    restore({ saveDir: dir, vmDir: '/m/clone', files: mount });
    const vcpu = (n: number) => ['cpuid', 'sregs', 'regs', 'fpu', 'xsave', 'xcrs', 'lapic', 'msrs', 'debugregs', 'debug', 'events', 'mp_state'].map((f) => `clone/vcpu${n}/${f}`);
    expect(mount.log).toEqual([
      'mkdir clone', 'clone/identity_map_addr', 'clone/irqchip', 'clone/pit', // not tss_addr: it is what was saved (kvmfs sets it; KVM may refuse it again)
      'clone/memory size', 'clone/memory contents',
      'mkdir clone/vcpu0', 'mkdir clone/vcpu1', ...vcpu(0), ...vcpu(1),
      'clone/console_ports', 'clone/pic_master', 'clone/pic_slave', 'clone/ioapic', 'clone/pit', 'clone/clock',
    ]);
  });

  it('of msrs, writes only the lines that differ: KVM refuses some MSRs even unchanged', () => {
    const { mount, dir } = savedVm();
    expect(readFileSync(join(dir, 'vcpu1/msrs'), 'utf8')).toBe('0x00000010 0x00000000000012a1\n0x4b564d06 0x0000000000000000\n');
    restore({ saveDir: dir, vmDir: '/m/clone', files: mount });
    expect(vmState(mount, 'clone')).toEqual(vmState(mount, 'vm0'));
  });

  it('a VM without irqchip or PIT: those stay "none", nothing is written to them', () => {
    const { mount, dir } = savedVm({ bare: true });
    restore({ saveDir: dir, vmDir: '/m/clone', files: mount });
    expect(mount.log.filter((entry) => /irqchip|pit|pic|ioapic|lapic/.test(entry))).toEqual([]);
    expect(vmState(mount, 'clone')).toEqual(vmState(mount, 'vm0'));
  });

  it('applies a chain: the full save, then each increment, later pages winning', () => {
    const { mount, dir: base } = savedVm();
    mount.guestWrite('vm0', 0x10 * PAGE, Buffer.from('first increment'));
    mount.guestWrite('vm0', PAGE + 5, Buffer.from('PAGE ONE'));
    const first = newDir();
    save({ vmDir: '/m/vm0', saveDir: first, since: base, files: mount });
    mount.write('/m/vm0/vcpu0/regs', Buffer.from('regs later\n'));
    mount.truncate('/m/vm0/memory', 2 << 20); // grown between saves
    mount.guestWrite('vm0', 2 * PAGE, Buffer.alloc(PAGE)); // all zero again: must not come back from the base
    mount.guestWrite('vm0', (1 << 20) + PAGE, Buffer.from('in the new memory'));
    const second = newDir();
    save({ vmDir: '/m/vm0', saveDir: second, since: first, files: mount });
    const result = restore({ saveDir: second, vmDir: '/m/clone', files: mount });
    expect(result.chain.map((s) => s.dir)).toEqual([base, first, second]);
    expect(vmState(mount, 'clone')).toEqual(vmState(mount, 'vm0'));
    expect(mount.vms.get('clone')!.vcpus.get(0)!.get('regs')!.toString()).toBe('regs later\n');
  });

  it('refuses to restore into an existing VM, and changes nothing', () => {
    const { mount, dir } = savedVm();
    const before = vmState(mount, 'vm0');
    expect(() => restore({ saveDir: dir, vmDir: '/m/vm0', files: mount })).toThrow('/m/vm0 already exists: restore makes a new VM');
    expect(vmState(mount, 'vm0')).toEqual(before);
  });

  it('refuses a target outside a kvmfs mount', () => {
    const { mount, dir } = savedVm();
    expect(() => restore({ saveDir: dir, vmDir: '/elsewhere/vm', files: mount })).toThrow('/elsewhere is not a kvmfs mount (no api_version)');
  });

  const damage: Array<[string, (dir: string) => void, RegExp]> = [
    ['no manifest', (dir) => rmSync(join(dir, 'manifest')), /not a kvmfs save \(no manifest\)/],
    ['a manifest of another format', (dir) => writeFileSync(join(dir, 'manifest'), readFileSync(join(dir, 'manifest'), 'utf8').replace('format 1', 'format 9')), /bad manifest: format 9/],
    ['a state file gone', (dir) => rmSync(join(dir, 'vcpu1/msrs')), /the manifest lists vcpu1\/msrs, but it cannot be read: ENOENT/],
    ['a cut memory image', (dir) => truncateSync(join(dir, 'memory'), 4096), /memory is 4096 bytes, the manifest says memory_size 1048576/],
    ['no memory image', (dir) => rmSync(join(dir, 'memory')), /not a kvmfs save \(no memory image\)/],
    ['bad ranges', (dir) => writeFileSync(join(dir, 'memory.ranges'), '0x1001 0x1000\n'), /bad memory.ranges: line 1: not whole pages/],
  ];
  it.each(damage)('refuses a save with %s before making anything', (_, spoil, message) => {
    const { mount, dir } = savedVm();
    spoil(dir);
    mount.log.length = 0;
    expect(() => restore({ saveDir: dir, vmDir: '/m/clone', files: mount })).toThrow(message);
    expect(mount.vms.has('clone')).toBe(false);
    expect(mount.log).toEqual([]);
  });

  it('refuses an increment whose base is gone or was replaced', () => {
    const { mount, dir: base } = savedVm();
    const increment = newDir();
    save({ vmDir: '/m/vm0', saveDir: increment, since: base, files: mount });
    const manifest = readFileSync(join(base, 'manifest'), 'utf8');
    writeFileSync(join(base, 'manifest'), manifest.replace(/^id 0x[0-9a-f]+$/m, `id 0x${'0'.repeat(32)}`));
    expect(() => restore({ saveDir: increment, vmDir: '/m/clone', files: mount })).toThrow(/was saved since a save with id 0x[0-9a-f]{32}, but .* is 0x0{32} \(replaced since\?\)/);
    rmSync(base, { recursive: true });
    expect(() => restore({ saveDir: increment, vmDir: '/m/clone', files: mount })).toThrow(/was saved since .*, which is gone \(restore needs the whole chain\)/);
    expect(mount.vms.has('clone')).toBe(false);
  });

  it('a write the mount refuses: names the step and last_error, and removes the half-made VM', () => {
    const { mount, dir } = savedVm();
    mount.refuseWrite.set('clone/vcpu1/msrs', ['EINVAL', 'vcpu1/msrs: KVM_SET_MSRS took 3 of 40: 0x00000010 refused']);
    expect(() => restore({ saveDir: dir, vmDir: '/m/clone', files: mount })).toThrow(
      /^restore of .* stopped at writing vcpu1\/msrs: EINVAL: .* \(last_error: vcpu1\/msrs: KVM_SET_MSRS took 3 of 40: 0x00000010 refused\); clone was removed$/);
    expect(mount.vms.has('clone')).toBe(false);
  });

  it('restores a partial save, and says what it lacked', () => {
    const mount = new FakeMount('/m', new Set(['regs', 'sregs']));
    const dir = newDir();
    save({ vmDir: makeVm(mount, 'vm0', { bare: true }), saveDir: dir, files: mount, partial: true });
    const result = restore({ saveDir: dir, vmDir: '/m/clone', files: mount });
    expect(result.missing).toContain('vcpu0/xsave');
    expect(vmState(mount, 'clone')).toEqual(vmState(mount, 'vm0'));
  });
});
