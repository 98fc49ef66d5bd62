// What a new user meets first (issue 11): blank writes, a second reader of
// a running vcpu, a vcpu id past KVM's limit, mv of a directory, mount on a
// live mount, and mount --help.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, Mount, realModeVm, sh } from './harness.js';
import { fails, scratchDir } from './assert-helpers.js';
import * as guests from './guests.js';

describe('an empty or whitespace-only write is a no-op that succeeds', () => {
  let mount: Mount;
  beforeAll(async () => {
    mount = await Mount.start();
    await realModeVm(mount, 'vm', guests.hello16);
  });
  afterAll(async () => { await mount.stop(); });

  it.each(['regs', 'sregs', 'run', 'interrupt'])('%s: echo > file, printf of blanks and a bare write succeed, change nothing, and keep last_error', async (file) => {
    const V = '"$M/vm/vcpu0"';
    await fails(mount, `echo 'rpi 1' > ${V}/regs`, 'Invalid argument');
    const before = await mount.ok(`cat ${V}/regs ${V}/sregs`);
    await mount.ok(`echo > ${V}/${file} && env printf '  \\n\\t\\n' > ${V}/${file} && printf '' > ${V}/${file} && : > ${V}/${file}`);
    expect(await mount.ok(`cat ${V}/regs ${V}/sregs`)).toBe(before);
    expect(await mount.ok('cat "$M/vm/last_error"')).toBe('vcpu0/regs: line 1: unknown register "rpi"\n');
  });

  it('the guest still runs from where it was: its first exit is its first out', async () => {
    expect(await mount.ok('cat "$M/vm/vcpu0/run"')).toBe('io out port=0x00e9 size=1 count=1 data=0x48\n');
  });

  it('stop is an action: even an empty write reaches it (and an idle vcpu stays idle)', async () => {
    await mount.ok('echo > "$M/vm/vcpu0/stop"');
  });
});

describe('a second reader of a running vcpu\'s run', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(['--run-timeout', '0']); });
  afterAll(async () => { await mount.stop(); });

  it('gets EBUSY, and last_error says another reader holds the run (not that KVM refused)', async () => {
    await realModeVm(mount, 'spin', guests.spin);
    const out = await mount.ok(`
      V="$M/spin/vcpu0"
      cat "$V/run" > /dev/null & reader=$!
      # a regs write fails (EBUSY) once the run is in progress
      while echo 'rax 1' > "$V/regs" 2>/dev/null; do sleep 0.05; done
      cat "$V/run" 2>&1 || true
      cat "$M/spin/last_error"
      echo 1 > "$V/stop"; wait $reader
    `, { timeoutMs: 10_000 });
    expect(out).toContain('Device or resource busy');
    expect(out).toContain('vcpu0/run: another reader holds the run (one run at a time per vcpu; write stop to end it)\n');
    expect(out).not.toContain('KVM_RUN');
  });
});

describe('names', () => {
  let mount: Mount;
  beforeAll(async () => {
    mount = await Mount.start();
    await mount.ok('mkdir "$M/vm" "$M/vm/vcpu0"');
  });
  afterAll(async () => { await mount.stop(); });

  it('mkdir vcpu99999999: EINVAL, the id is out of range, and KVM\'s limit is named', async () => {
    const maxId = Number(/^max_vcpu_id (\d+)$/m.exec(await mount.ok('cat "$M/capabilities"'))![1]);
    await fails(mount, 'mkdir "$M/vm/vcpu99999999"', 'Invalid argument');
    expect(await mount.ok('cat "$M/vm/last_error"'))
      .toBe(`vcpu99999999: cannot create "vcpu99999999": vcpu id 99999999 is out of range (KVM takes 0 to ${maxId - 1}: KVM_CAP_MAX_VCPU_ID)\n`);
  });

  it('mv of a VM or a vcpu directory: EPERM, and last_error says directories cannot be renamed', async () => {
    await fails(mount, 'mv "$M/vm" "$M/vm2"', 'Operation not permitted');
    expect(await mount.ok('cat "$M/last_error"')).toBe('vm: "vm": directories cannot be renamed or linked in kvmfs (mkdir makes them, rmdir destroys them)\n');
    await fails(mount, 'mv "$M/vm/vcpu0" "$M/vm/vcpu1"', 'Operation not permitted');
    expect(await mount.ok('cat "$M/vm/last_error"')).toBe('vcpu0: "vcpu0": directories cannot be renamed or linked in kvmfs (mkdir makes them, rmdir destroys them)\n');
    expect(await mount.ok('ls "$M" "$M/vm" | grep -c vcpu0')).toBe('1\n');
  });
});

describe('kvmfs mount', () => {
  let scratch: ReturnType<typeof scratchDir>;
  beforeAll(() => { scratch = scratchDir(); });
  afterAll(() => scratch.remove());

  it('on a directory a kvmfs daemon serves: says it is already mounted, and the first mount goes on', async () => {
    const mount = await Mount.start();
    try {
      const result = await sh(mount.dir, `"${process.execPath}" "${cli}" mount "$M"`);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toBe(`kvmfs: ${mount.dir} is already mounted (a kvmfs daemon serves it): unmount it first (kvmfs umount ${mount.dir}) or mount on another directory\n`);
      expect(await mount.ok('cat "$M/api_version"')).toBe('12\n');
    } finally {
      await mount.stop();
    }
  });

  it('--debug prints every operation and who served it: reads of regs and api_version on reader threads, their opens on the main thread', async () => {
    const mount = await Mount.start(['--debug']);
    /** The debug lines `script` makes (a reader's stderr comes through the main thread: give it a moment). */
    const linesOf = async (script: string) => {
      const from = mount.output.length;
      await mount.ok(script);
      await new Promise((resolve) => setTimeout(resolve, 200));
      return mount.output.slice(from);
    };
    try {
      await mount.ok('mkdir "$M/dbg" "$M/dbg/vcpu0"');
      for (const path of ['dbg/vcpu0/regs', 'api_version']) {
        const lines = await linesOf(`cat "$M/${path}" >/dev/null`);
        const node = /^kvmfs: OPEN node (\d+) unique \d+ \(main thread\)$/m.exec(lines)?.[1];
        expect(node, `${path}: ${lines}`).toBeDefined();
        expect(lines, path).toMatch(new RegExp(`^kvmfs: READ node ${node} unique \\d+ \\((ring reader, CPU|/dev/fuse reader) \\d+\\)$`, 'm'));
      }
    } finally {
      await mount.stop();
    }
  });

  it('--help says the directory is created if missing', async () => {
    const result = await sh(scratch.dir, `"${process.execPath}" "${cli}" mount --help`);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('created if missing');
    expect(result.stdout).not.toContain('an existing');
  });
});
