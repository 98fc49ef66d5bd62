// The daemon's life: the CLI's doctor and help, a clean exit on SIGTERM or
// SIGINT, and what is left after kill -9 (a stale mount that `kvmfs umount`
// or the next `kvmfs mount` clears).
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, Mount, sh } from './harness.js';
import { scratchDir } from './assert-helpers.js';

const node = process.execPath;
const KVMFS = `"${node}" "${cli}"`;

/** Runs the CLI (in a shell, in the scratch dir, with $M set to `dir`). */
function kvmfs(dir: string, args: string) {
  return sh(dir, `${KVMFS} ${args}`);
}

/** Is `dir` a mount point, per /proc/self/mountinfo (works on stale mounts too)? */
async function isMounted(dir: string): Promise<boolean> {
  const result = await sh(dir, 'awk -v d="$M" \'$5 == d { found = 1 } END { exit !found }\' /proc/self/mountinfo');
  return result.code === 0;
}

async function waitForExit(mount: Mount): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const started = Date.now();
  if (mount.daemon.exitCode === null && mount.daemon.signalCode === null) await once(mount.daemon, 'exit');
  return { code: mount.daemon.exitCode, signal: mount.daemon.signalCode, ms: Date.now() - started };
}

describe('the CLI', () => {
  let scratch: ReturnType<typeof scratchDir>;
  beforeAll(() => { scratch = scratchDir(); });
  afterAll(() => scratch.remove());

  it('kvmfs doctor prints one line per check, all ok here, and exits 0', async () => {
    const result = await kvmfs(scratch.dir, 'doctor');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) expect(line).toMatch(/^ok {4}\S[^:]*: .+$/);
    const checks = lines.map((line) => line.slice(6, line.indexOf(': ')));
    expect(checks).toEqual(expect.arrayContaining(['/dev/kvm', '/dev/fuse', 'libfuse', 'FUSE over io_uring']));
    expect(new Set(checks).size).toBe(checks.length);
    expect(result.stdout).toMatch(/API version 12/);
  });

  it('kvmfs --help names the commands and exits 0', async () => {
    const result = await kvmfs(scratch.dir, '--help');
    expect(result.code).toBe(0);
    for (const command of ['mount <dir>', 'umount <dir>', 'doctor']) expect(result.stdout).toContain(command);
    expect((await kvmfs(scratch.dir, '-h')).stdout).toBe(result.stdout);
  });

  it('kvmfs mount --help names the options and exits 0', async () => {
    const result = await kvmfs(scratch.dir, 'mount --help');
    expect(result.code).toBe(0);
    for (const option of ['--run-timeout', '--max-memory', '--max-vms', 'dir']) expect(result.stdout).toContain(option);
  });

  it('kvmfs umount --help exits 0', async () => {
    const result = await kvmfs(scratch.dir, 'umount --help');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('umount <dir>');
  });

  it('no command, or an unknown one, is a usage error', async () => {
    const none = await kvmfs(scratch.dir, '');
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('name a command');
    const unknown = await kvmfs(scratch.dir, 'frobnicate');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/frobnicate/);
  });

  it('a bad option value is a clear usage error, and mounts nothing', async () => {
    const result = await kvmfs(scratch.dir, 'mount "$M" --max-memory lots');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('bad size "lots"');
    expect(await isMounted(scratch.dir)).toBe(false);
  });

  it('kvmfs umount on a directory that is not a mount: one clear line, non-zero exit', async () => {
    const result = await kvmfs(scratch.dir, 'umount "$M"');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`${scratch.dir} is not a mount point`);
    expect(result.stderr).not.toMatch(/^\s+at /m); // no stack trace
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('kvmfs mount refuses a non-empty directory with one clear line, and mounts nothing', async () => {
    await sh(scratch.dir, 'mkdir -p "$M/full/x"');
    const result = await kvmfs(scratch.dir, `mount "${scratch.dir}/full"`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toBe(`kvmfs: ${scratch.dir}/full is not empty: mount kvmfs on an empty directory\n`);
    expect(await isMounted(`${scratch.dir}/full`)).toBe(false);
  });

  it('kvmfs mount creates a missing mount point', async () => {
    const mount = await Mount.start([], `${scratch.dir}/new/mnt`);
    try {
      expect(await mount.ok('cat "$M/api_version"')).toBe('12\n');
    } finally {
      await mount.stop();
    }
  });

  it('kvmfs umount on a missing directory: one clear line, non-zero exit', async () => {
    const result = await kvmfs(scratch.dir, 'umount "$M/missing"');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`${scratch.dir}/missing`);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('the daemon', () => {
  /** A mount with two VMs with memory, vcpus and changed state. */
  async function busyMount(): Promise<Mount> {
    const mount = await Mount.start();
    await mount.ok(`
      mkdir "$M/a" "$M/a/vcpu0" "$M/a/vcpu1" "$M/b" "$M/b/vcpu0"
      truncate -s 16M "$M/a/memory"; truncate -s 1M "$M/b/memory"
      head -c 65536 /dev/urandom | dd of="$M/a/memory" conv=notrunc status=none
      echo 'rip 0x1000' > "$M/a/vcpu0/regs"; echo 'cr3 0x5000' > "$M/b/vcpu0/sregs"
      cat "$M/a/vcpu1/regs" "$M/a/dirty_log" > /dev/null
    `);
    return mount;
  }

  it('SIGTERM with VMs present: exits 0 within 1 s and unmounts', async () => {
    const mount = await busyMount();
    mount.daemon.kill('SIGTERM');
    const { code, signal, ms } = await waitForExit(mount);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(1000);
    expect(await isMounted(mount.dir)).toBe(false);
    await sh(mount.dir, '! mountpoint -q "$M"').then((r) => expect(r.code).toBe(0));
    // the directory is the plain, empty directory it was before
    expect(await sh(mount.dir, 'ls -A "$M"; test "$(stat -c %d "$M")" = "$(stat -c %d "$M/..")"')).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(mount.output).toContain('SIGTERM');
    await mount.stop();
  });

  it('SIGINT (Ctrl-C) does the same', async () => {
    const mount = await busyMount();
    mount.daemon.kill('SIGINT');
    const { code, signal, ms } = await waitForExit(mount);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(1000);
    expect(await isMounted(mount.dir)).toBe(false);
    await mount.stop();
  });

  it('kill -9 leaves a stale mount; kvmfs umount clears it; a new mount on the same dir works', async () => {
    const first = await busyMount();
    const dir = first.dir;
    first.daemon.kill('SIGKILL');
    await waitForExit(first);
    const stale = await sh(dir, 'ls "$M"');
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toMatch(/Transport endpoint is not connected|Software caused connection abort/);
    expect(await isMounted(dir)).toBe(true);

    const umount = await kvmfs(dir, 'umount "$M"');
    expect(umount).toMatchObject({ code: 0, stderr: '' });
    expect(await isMounted(dir)).toBe(false);
    expect(await sh(dir, 'ls -A "$M"')).toEqual({ stdout: '', stderr: '', code: 0 });

    const second = await Mount.start([], dir);
    try {
      expect(await second.ok('LC_ALL=C ls "$M"')).toBe('api_version\ncapabilities\nlast_error\nmsr_index_list\nsupported_cpuid\n'); // the old VMs are gone
      await second.ok('mkdir "$M/c" "$M/c/vcpu0" && truncate -s 1M "$M/c/memory" && echo "rax 7" > "$M/c/vcpu0/regs"');
      expect(await second.ok('grep ^rax "$M/c/vcpu0/regs"')).toBe('rax 0x0000000000000007\n');
    } finally {
      await second.stop();
    }
  });

  it('kill -9, then a new mount on the stale dir (no umount) clears it and works', async () => {
    const first = await busyMount();
    const dir = first.dir;
    first.daemon.kill('SIGKILL');
    await waitForExit(first);
    // ENOTCONN; ECONNABORTED for a moment while the kernel tears down the daemon's io_urings
    expect((await sh(dir, 'stat "$M"')).stderr).toMatch(/Transport endpoint is not connected|Software caused connection abort/);

    const second = await Mount.start([], dir);
    try {
      expect(await second.ok('LC_ALL=C ls "$M"')).toBe('api_version\ncapabilities\nlast_error\nmsr_index_list\nsupported_cpuid\n');
      await second.ok('mkdir "$M/d" && truncate -s 4K "$M/d/memory"');
      expect(await second.ok('stat -c %s "$M/d/memory"')).toBe('4096\n');
      // exactly one kvmfs mount on the dir, not one stacked on the stale one
      expect(await second.ok('awk -v d="$M" \'$5 == d\' /proc/self/mountinfo | wc -l')).toBe('1\n');
    } finally {
      await second.stop();
    }
    expect(await isMounted(dir)).toBe(false);
  });

  it('kvmfs umount of a live mount detaches it, and the daemon (with its VMs) goes away', async () => {
    const mount = await busyMount();
    try {
      const result = await kvmfs(mount.dir, 'umount "$M"');
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(await isMounted(mount.dir)).toBe(false);
      // like any FUSE daemon after fusermount -u: nothing is served any more, so it exits
      const exited = await Promise.race([waitForExit(mount), new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000))]);
      expect(exited, 'daemon still running 2 s after its mount was unmounted').toMatchObject({ code: 0 });
    } finally {
      await mount.stop();
    }
  });
});
