// Permissions: who may use a VM. With --allow-other the mount is
// default_permissions, so the kernel checks each access against the mode and
// owner kvmfs reports; new VMs are 0700 and belong to the mounting user
// (root), and chown/chmod on a VM hand it to someone else. Without
// --allow-other nobody but the mounting user gets in at all. The other user
// is a throwaway account made for this file (useradd, userdel at the end);
// its commands run through setpriv with its uid, gid and no other groups.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, realModeVm, type ShellResult } from './harness.js';
import * as guests from './guests.js';
import { VM_FILES } from './tree-files.js';

const execFileAsync = promisify(execFile);
const lines = (text: string): string[] => text.trimEnd().split('\n');
const DENIED = 'Permission denied'; // EACCES
const NOT_PERMITTED = 'Operation not permitted'; // EPERM

interface TestUser {
  name: string;
  uid: number;
  gid: number;
}

async function run(command: string, args: string[]): Promise<ShellResult> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { encoding: 'utf8' });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; code?: number };
    return { stdout: failed.stdout ?? '', stderr: failed.stderr ?? '', code: typeof failed.code === 'number' ? failed.code : 1 };
  }
}

/** A fresh unprivileged user, kvmfs-test-<random>, with no home and its own group. */
async function createUser(): Promise<TestUser> {
  const name = `kvmfs-test-${randomBytes(3).toString('hex')}`;
  // useradd fails if another process holds the lock on /etc/passwd: try again
  for (let attempt = 0; ; attempt++) {
    const result = await run('useradd', ['-M', '-U', '-s', '/bin/bash', name]);
    if (result.code === 0 || result.stderr.includes('already exists')) break;
    if (attempt === 10) throw new Error(`useradd ${name}: ${result.stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const uid = Number((await run('id', ['-u', name])).stdout);
  const gid = Number((await run('id', ['-g', name])).stdout);
  if (!(uid > 0 && gid > 0)) throw new Error(`no uid/gid for ${name}`);
  return { name, uid, gid };
}

async function deleteUser(user: TestUser): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const result = await run('userdel', [user.name]);
    if (result.code === 0 || result.stderr.includes('does not exist')) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Runs a bash script as `user` (setpriv: its uid and gid, no supplementary
 * groups), with $M set. `set -u` comes inside the script: Debian's bash
 * reads /etc/bash.bashrc when stdin is a socket, and that file trips over -u.
 */
async function asUser(user: TestUser, mount: Mount, script: string): Promise<ShellResult> {
  try {
    const { stdout, stderr } = await execFileAsync(
      'setpriv', ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups', '--', 'bash', '-c', `set -uo pipefail\n${script}`],
      { env: { PATH: process.env.PATH, M: mount.dir, HOME: '/', LC_ALL: 'C' }, cwd: '/', timeout: 20_000, encoding: 'utf8' },
    );
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; code?: number | string; killed?: boolean };
    if (failed.killed) throw new Error(`timed out as ${user.name}: ${script}`);
    return { stdout: failed.stdout ?? '', stderr: failed.stderr ?? '', code: typeof failed.code === 'number' ? failed.code : 1 };
  }
}

/** As `user`, each command of `commands` must fail with `message`; returns nothing, fails the test with the first that did not. */
async function eachFails(user: TestUser, mount: Mount, commands: string[], message: string): Promise<void> {
  const script = 'E=$(mktemp)\n' + commands.map((command) => `if { ${command}; } 2> "$E"; then echo "SUCCEEDED"; else echo "$(head -c 300 "$E" | tr '\\n' ' ')"; fi`).join('\n') + '\nrm -f "$E"';
  const result = await asUser(user, mount, script);
  const outcomes = lines(result.stdout);
  expect(outcomes).toHaveLength(commands.length);
  for (const [i, outcome] of outcomes.entries()) expect(outcome, `as ${user.name}: ${commands[i]}`).toContain(message);
}

describe('--allow-other: modes and ownership decide (default_permissions)', () => {
  let mount: Mount;
  let user: TestUser;

  beforeAll(async () => {
    user = await createUser();
    mount = await Mount.start(['--allow-other']);
    await realModeVm(mount, 'vmA', guests.threeOuts);
    await realModeVm(mount, 'vmB', guests.threeOuts);
    await mount.ok('printf "secret of B" | dd of="$M/vmB/memory" bs=1 seek=$((0x8000)) conv=notrunc status=none');
  });
  afterAll(async () => {
    await mount?.stop();
    if (user) await deleteUser(user);
  });

  it('the mount is root\'s 0755; new VMs are 0700 and their files 0600/0400/0200, all owned by the mounting user', async () => {
    const out = await mount.ok(`
      cd "$M"
      stat -c '%a %u %g %n' . api_version capabilities last_error vmA vmA/memory vmA/dirty_log vmA/last_error vmA/vcpu0 vmA/vcpu0/regs vmA/vcpu0/sregs vmA/vcpu0/run vmA/vcpu0/interrupt vmA/vcpu0/stop
    `);
    expect(lines(out)).toEqual([
      '755 0 0 .',
      '444 0 0 api_version', '444 0 0 capabilities', '400 0 0 last_error',
      '700 0 0 vmA', '600 0 0 vmA/memory', '400 0 0 vmA/dirty_log', '400 0 0 vmA/last_error',
      '700 0 0 vmA/vcpu0', '600 0 0 vmA/vcpu0/regs', '600 0 0 vmA/vcpu0/sregs', '600 0 0 vmA/vcpu0/run',
      '200 0 0 vmA/vcpu0/interrupt', '200 0 0 vmA/vcpu0/stop',
    ]);
    // the option reached the kernel
    expect(await mount.ok('awk -v d="$M" \'$5 == d { print $NF }\' /proc/self/mountinfo')).toMatch(/allow_other/);
  });

  it('another user can list the top and read api_version, but cannot reach into a VM it was not given', async () => {
    const top = await asUser(user, mount, 'ls "$M"; cat "$M/api_version"; head -1 "$M/capabilities"');
    expect(top.code).toBe(0);
    expect(lines(top.stdout)).toEqual(['api_version', 'capabilities', 'last_error', 'msr_index_list', 'supported_cpuid', 'vmA', 'vmB', '12', expect.stringMatching(/^\S+ \d+$/)]);
    await eachFails(user, mount, [
      'cat "$M/vmB/memory"',
      'dd if="$M/vmB/memory" bs=1 skip=$((0x8000)) count=11 status=none',
      'cat "$M/vmB/vcpu0/regs"',
      'cat "$M/vmB/vcpu0/sregs"',
      'cat "$M/vmB/vcpu0/run"',
      'cat "$M/vmB/dirty_log"',
      'cat "$M/vmB/last_error"',
      'ls "$M/vmB"',
      'stat "$M/vmB/memory"',
      'echo "rax 1" > "$M/vmB/vcpu0/regs"',
      'echo 32 > "$M/vmB/vcpu0/interrupt"',
      'echo 1 > "$M/vmB/vcpu0/stop"',
      'truncate -s 2M "$M/vmB/memory"',
    ], DENIED);
    // nothing reached the VM: its state, memory and size are as they were, and it has no error
    expect(await mount.ok('grep -E "^(rax|rip) " "$M/vmB/vcpu0/regs"; stat -c %s "$M/vmB/memory"; dd if="$M/vmB/memory" bs=1 skip=$((0x8000)) count=11 status=none; cat "$M/vmB/last_error"'))
      .toBe('rax 0x0000000000000000\nrip 0x0000000000001000\n1048576\nsecret of B');
  });

  it('another user cannot create VMs, create or remove files, or remove or rename VMs', async () => {
    await eachFails(user, mount, [
      'mkdir "$M/vmC"',
      'touch "$M/newfile"',
      'echo x > "$M/newfile"',
      'rmdir "$M/vmA"',
      'mv "$M/vmA" "$M/vmZ"',
      'ln -s vmA "$M/link"',
      'mkdir "$M/vmB/vcpu1"',
      'touch "$M/vmB/newfile"',
    ], DENIED);
    await eachFails(user, mount, ['chmod 777 "$M/vmB"', 'chown "$(id -u)" "$M/vmB"', 'chmod 777 "$M"'], NOT_PERMITTED);
    // the kernel refused them all: kvmfs never saw them (no error recorded, nothing created)
    expect(await mount.ok('LC_ALL=C ls "$M"; cat "$M/last_error"; stat -c %a "$M/vmB"')).toBe('api_version\ncapabilities\nlast_error\nmsr_index_list\nsupported_cpuid\nvmA\nvmB\n700\n');
  });

  it('after chown -R USER vmA the user can use vmA (regs, memory, run); vmB stays closed', async () => {
    await mount.ok(`chown -R ${user.uid}:${user.gid} "$M/vmA"`);
    const owners = await mount.ok('cd "$M"; stat -c "%u %g %a %n" vmA vmA/memory vmA/vcpu0 vmA/vcpu0/regs vmA/vcpu0/run vmA/vcpu0/stop vmB vmB/memory');
    const id = `${user.uid} ${user.gid}`;
    expect(lines(owners)).toEqual([
      `${id} 700 vmA`, `${id} 600 vmA/memory`, `${id} 700 vmA/vcpu0`, `${id} 600 vmA/vcpu0/regs`, `${id} 600 vmA/vcpu0/run`, `${id} 200 vmA/vcpu0/stop`,
      '0 0 700 vmB', '0 0 600 vmB/memory',
    ]);

    const used = await asUser(user, mount, `
      set -e
      V="$M/vmA"
      grep -E '^(rax|rip) ' "$V/vcpu0/regs"
      echo 'rax 0x77' > "$V/vcpu0/regs"
      grep '^rax ' "$V/vcpu0/regs"
      echo 'rax 0' > "$V/vcpu0/regs"
      for i in 1 2 3 4; do cat "$V/vcpu0/run"; done
      printf 'user was here' | dd of="$V/memory" bs=1 seek=$((0x9000)) conv=notrunc status=none
      dd if="$V/memory" bs=1 skip=$((0x9000)) count=13 status=none; echo
      od -An -tx1 -j $((0x1000)) -N 2 "$V/memory"
      truncate -s 2M "$V/memory"; stat -c %s "$V/memory"
      od -An -tx8 -N 8 "$V/dirty_log"
      echo 1 > "$V/vcpu0/stop"
      cat "$V/last_error"
    `);
    expect(used.stderr).toBe('');
    expect(lines(used.stdout)).toEqual([
      'rax 0x0000000000000000', 'rip 0x0000000000001000',
      'rax 0x0000000000000077',
      'io out port=0x00e9 size=1 count=1 data=0x41', 'io out port=0x00e9 size=1 count=1 data=0x42', 'io out port=0x00e9 size=1 count=1 data=0x43', 'hlt',
      'user was here',
      ' b0 41',
      '2097152',
      expect.stringMatching(/^ [0-9a-f]{16}$/),
    ]);

    // vmB, not given, is as closed as before
    await eachFails(user, mount, ['cat "$M/vmB/vcpu0/regs"', 'cat "$M/vmB/memory"', 'ls "$M/vmB"'], DENIED);
  });

  it('the owner of a VM may add vcpus to it (they are its), but not files; nor remove it or give it away', async () => {
    const made = await asUser(user, mount, 'mkdir "$M/vmA/vcpu1" && stat -c "%u %g %a" "$M/vmA/vcpu1" "$M/vmA/vcpu1/regs" && grep -c . "$M/vmA/vcpu1/regs"');
    expect(made.stderr).toBe('');
    expect(lines(made.stdout)).toEqual([`${user.uid} ${user.gid} 700`, `${user.uid} ${user.gid} 600`, '18']);
    // the kernel lets the owner try to create a file in its VM; kvmfs says no (EPERM) and records why
    const refused = await asUser(user, mount, 'touch "$M/vmA/newfile"; mkdir "$M/vmA/vcpu01"; cat "$M/vmA/last_error"');
    expect(refused.stderr).toContain(`touch: cannot touch '${mount.dir}/vmA/newfile': ${NOT_PERMITTED}`);
    expect(refused.stderr).toContain('Invalid argument');
    expect(refused.stdout).toMatch(/^vcpu01: /);
    // removing or renaming needs write access to the top, which is root's
    await eachFails(user, mount, ['rmdir "$M/vmA"', 'mv "$M/vmA" "$M/vmZ"'], DENIED);
    // giving it away needs CAP_CHOWN
    await eachFails(user, mount, ['chown 0 "$M/vmA"', `chown ${user.uid}:0 "$M/vmA"`], NOT_PERMITTED);
    expect(await mount.ok('stat -c "%u %g" "$M/vmA"')).toBe(`${user.uid} ${user.gid}\n`);
  });

  it('chmod is reflected in stat and enforced: group read access, an owner locking itself out, root\'s override', async () => {
    // share vmB's regs, read-only, with the user's group
    await mount.ok(`chgrp -R ${user.gid} "$M/vmB" && chmod 750 "$M/vmB" "$M/vmB/vcpu0" && chmod 640 "$M/vmB/vcpu0/regs"`);
    expect(lines(await mount.ok('cd "$M"; stat -c "%a %u %g %A %n" vmB vmB/vcpu0 vmB/vcpu0/regs vmB/memory'))).toEqual([
      `750 0 ${user.gid} drwxr-x--- vmB`, `750 0 ${user.gid} drwxr-x--- vmB/vcpu0`,
      `640 0 ${user.gid} -rw-r----- vmB/vcpu0/regs`, `600 0 ${user.gid} -rw------- vmB/memory`,
    ]);
    const shared = await asUser(user, mount, 'ls "$M/vmB"; grep "^rip " "$M/vmB/vcpu0/regs"');
    expect(shared).toEqual({ stdout: [...VM_FILES, 'vcpu0', 'rip 0x0000000000001000', ''].join('\n'), stderr: '', code: 0 });
    await eachFails(user, mount, ['echo "rax 1" > "$M/vmB/vcpu0/regs"', 'cat "$M/vmB/memory"', 'cat "$M/vmB/vcpu0/sregs"', 'mkdir "$M/vmB/vcpu1"'], DENIED);

    // the owner of vmA can change its modes, and they hold against itself too
    const locked = await asUser(user, mount, 'chmod 400 "$M/vmA/vcpu0/regs" && stat -c "%a" "$M/vmA/vcpu0/regs" && cat "$M/vmA/vcpu0/regs" > /dev/null && { echo "rax 2" > "$M/vmA/vcpu0/regs"; } 2>&1 || true');
    expect(locked.stdout).toMatch(/^400\n.*Permission denied/);
    await asUser(user, mount, 'chmod 0 "$M/vmA/memory"');
    expect(await mount.ok('stat -c "%a %A" "$M/vmA/memory"')).toBe('0 ----------\n');
    await eachFails(user, mount, ['cat "$M/vmA/memory"'], DENIED);
    // root is not bound by mode bits (CAP_DAC_OVERRIDE), as anywhere
    expect(await mount.ok('dd if="$M/vmA/memory" bs=1 skip=$((0x9000)) count=13 status=none')).toBe('user was here');
    // special bits are kept (and mean nothing here: the mount is nosuid and nothing is executable)
    await mount.ok('chmod 4755 "$M/vmB/vcpu0/regs"');
    expect(await mount.ok('stat -c %a "$M/vmB/vcpu0/regs"; awk -v d="$M" \'$5 == d { print $6 }\' /proc/self/mountinfo')).toMatch(/^4755\n.*nosuid/);
  });
});

describe('a default mount (no --allow-other): only the mounting user gets in', () => {
  let mount: Mount;
  let user: TestUser;

  beforeAll(async () => {
    user = await createUser();
    mount = await Mount.start();
    await realModeVm(mount, 'vm', guests.threeOuts);
    // even a VM handed to the user stays out of its reach
    await mount.ok(`chown -R ${user.uid}:${user.gid} "$M/vm" && chmod 777 "$M" "$M/vm"`);
  });
  afterAll(async () => {
    await mount?.stop();
    if (user) await deleteUser(user);
  });

  it('another user cannot list the mount, stat it or read any file (EACCES)', async () => {
    await eachFails(user, mount, [
      'ls "$M"',
      'stat "$M"',
      'cat "$M/api_version"',
      'cat "$M/vm/vcpu0/regs"',
      'cat "$M/vm/memory"',
      'mkdir "$M/mine"',
    ], DENIED);
    // the mounting user (root) is served as usual
    expect(await mount.ok('cat "$M/api_version"; stat -c "%a %u" "$M/vm"')).toBe(`12\n777 ${user.uid}\n`);
    expect(await mount.ok('awk -v d="$M" \'$5 == d { print $NF }\' /proc/self/mountinfo')).not.toMatch(/allow_other/);
  });
});
