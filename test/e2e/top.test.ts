// `kvmfs top --once`: the table a script gets, from a real mount, and from
// a directory laid out like one (the stats files with known counters).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, Mount, realModeVm } from './harness.js';
import { hello16, reg, runUntilHlt } from './guests.js';

const run = promisify(execFile);
const HEADER = /^VM\s+VCPU\s+STATE\s+RIP\s+EXITS\/s\s+IO\/s\s+MMIO\/s\s+HALT\/s\s+IRQ\/s/;

describe('kvmfs top --once, on files laid out like a mount', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvmfs-top-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints one table: a row per VM, a row per vcpu, counters that did not move as 0', async () => {
    mkdirSync(join(dir, 'vm0', 'vcpu0'), { recursive: true });
    mkdirSync(join(dir, 'vm0', 'vcpu1'));
    writeFileSync(join(dir, 'api_version'), '12\n');
    writeFileSync(join(dir, 'vm0', 'vcpu0', 'stats'), 'exits 100\nio_exits 40\nmmio_exits 0\nhalt_exits 5\nirq_exits 1\n');
    writeFileSync(join(dir, 'vm0', 'vcpu0', 'regs'), 'rip 0x0000000000001000\n');
    writeFileSync(join(dir, 'vm0', 'vcpu0', 'mp_state'), 'runnable\n');
    const { stdout } = await run(process.execPath, [cli, 'top', dir, '--once', '--interval', '0.2']);
    expect(stdout.split('\n')).toEqual([
      expect.stringMatching(HEADER),
      'vm0  2 vcpus                                      -     -       -       -      -',
      '     vcpu0    runnable  0x0000000000001000        0     0       0       0      0',
      '     vcpu1    idle      -                         -     -       -       -      -',
      '',
    ]);
  });

  it('fails with a message on a directory that is not there', async () => {
    const failed = await run(process.execPath, [cli, 'top', join(dir, 'missing'), '--once']).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringContaining('no such file or directory') });
  });
});

describe('kvmfs top --once, on a real mount', () => {
  let mount: Mount;
  beforeAll(async () => {
    mount = await Mount.start();
  });
  afterAll(async () => {
    await mount.stop();
  });

  it('shows each vcpu with its rip, and its exits where the mount has stats', async () => {
    await realModeVm(mount, 'hello', hello16);
    await mount.ok(runUntilHlt('hello'));
    const rip = reg(await mount.ok('cat "$M/hello/vcpu0/regs"'), 'rip');
    const hasStats = (await mount.sh('test -e "$M/hello/vcpu0/stats"')).code === 0;
    const { stdout } = await run(process.execPath, [cli, 'top', mount.dir, '--once', '--interval', '0.5']);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(HEADER);
    expect(lines[1]).toMatch(/^hello\s+1 vcpu\s/);
    const rate = hasStats ? '\\d+' : '-';
    expect(lines[2]).toMatch(new RegExp(`^\\s+vcpu0\\s+\\S+\\s+0x${rip.toString(16).padStart(16, '0')}(\\s+${rate}){5}`));
  });
});
