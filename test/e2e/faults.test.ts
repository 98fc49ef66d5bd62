// Faults: the daemon killed or stopped while vcpus run, a guest that triple
// faults, and a client killed in the middle of a run. Whatever happens, no
// reader stays stuck, and the mount can be cleared and reused (guests that
// spin or exit without end: faults-spin.test.ts).
// Readers of `run` are child processes (cat, node) started by the test;
// timings are measured in the test or in those children.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, Mount, realModeVm, sh, slowdown } from './harness.js';
import * as guests from './guests.js';
import { loadVm, reg } from './guests.js';
import { lines, PRINTF } from './assert-helpers.js';
import { exitWithin, type Reader, sleep, spinningVm, startReader, still } from './faults-helpers.js';

const execFileAsync = promisify(execFile);

/** Every exit line docs/interface.md (run) defines. */
const EXIT_LINE = /^(io (in|out) |mmio (read|write) |hlt$|shutdown$|fail_entry |internal_error |debug |intr$|unknown |system_event )/;

/** Is `dir` a mount point, per /proc/self/mountinfo (works on stale mounts too)? */
async function isMounted(dir: string): Promise<boolean> {
  return (await sh(dir, 'awk -v d="$M" \'$5 == d { found = 1 } END { exit !found }\' /proc/self/mountinfo')).code === 0;
}

describe('kill -9 of the daemon while vcpus run (--run-timeout 0)', () => {
  it('blocked readers of run end, kvmfs umount clears the mount, and a new mount on the same dir works', async () => {
    const first = await Mount.start(['--run-timeout', '0']);
    const dir = first.dir;
    const readers: Reader[] = [];
    let second: Mount | undefined;
    try {
      await spinningVm(first, 'a', 2);
      await spinningVm(first, 'b');
      readers.push(...['a/vcpu0', 'a/vcpu1', 'b/vcpu0'].map((vcpu) => startReader(`${dir}/${vcpu}/run`)));
      await sleep(400);
      // the guests spin: no reader has come back
      expect(readers.map(still)).toEqual([true, true, true]);

      const killedAt = Date.now();
      first.daemon.kill('SIGKILL');
      await once(first.daemon, 'exit');
      // every reader ends, with an error, within a bound: none stays stuck in the kernel
      const exits = await Promise.all(readers.map((reader) => exitWithin(reader, 5000)));
      expect(readers.filter(still), 'readers of run still there 5 s after kill -9 of the daemon').toHaveLength(0);
      const endMs = Math.max(...exits.map((exit) => exit!.at - killedAt));
      console.log(`kill -9: ${readers.length} blocked readers ended ${endMs} ms after the kill; stderr: ${JSON.stringify(readers[0]!.stderr.trim())}`);
      expect(endMs).toBeLessThan(2000);
      for (const [i, reader] of readers.entries()) {
        expect(exits[i]!.code).not.toBe(0);
        expect(reader.stdout).toBe('');
        // in-flight requests of an aborted FUSE connection fail with ECONNABORTED (or ENOTCONN)
        expect(reader.stderr).toMatch(/Software caused connection abort|Transport endpoint is not connected/);
      }

      // the dead mount answers ENOTCONN (ECONNABORTED for a moment after the kill); kvmfs umount clears it
      expect((await sh(dir, 'ls "$M"')).stderr).toMatch(/Transport endpoint is not connected|Software caused connection abort/);
      const umount = await execFileAsync(process.execPath, [cli, 'umount', dir]).then(() => 0, (error: { code?: number }) => error.code ?? 1);
      expect(umount).toBe(0);
      expect(await isMounted(dir)).toBe(false);

      second = await Mount.start(['--run-timeout', '0'], dir);
      expect(await second.ok('LC_ALL=C ls "$M"')).toBe('api_version\ncapabilities\nlast_error\nmsr_index_list\nsupported_cpuid\n');
      await realModeVm(second, 'hello', guests.threeOuts);
      expect(lines(await second.ok('for i in 1 2 3 4; do cat "$M/hello/vcpu0/run"; done'))).toEqual([
        'io out port=0x00e9 size=1 count=1 data=0x41',
        'io out port=0x00e9 size=1 count=1 data=0x42',
        'io out port=0x00e9 size=1 count=1 data=0x43',
        'hlt',
      ]);
      // and a run blocked on the new mount is released by stop, as usual
      await spinningVm(second, 'spin');
      const reader = startReader(`${dir}/spin/vcpu0/run`);
      readers.push(reader);
      await sleep(200);
      expect(still(reader)).toBe(true);
      await second.ok('echo 1 > "$M/spin/vcpu0/stop"');
      expect(await exitWithin(reader, 2000)).toMatchObject({ code: 0 });
      expect(reader.stdout).toBe('intr\n');
    } finally {
      // whatever failed: no daemon, reader or (stale) mount is left behind
      for (const reader of readers.filter(still)) reader.child.kill('SIGKILL');
      if (first.daemon.exitCode === null && first.daemon.signalCode === null) first.daemon.kill('SIGKILL');
      if (second) {
        await second.stop();
      } else {
        await execFileAsync(process.execPath, [cli, 'umount', dir]).catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});

describe('SIGTERM while vcpus run (--run-timeout 0)', () => {
  it('unmounts, and the daemon exits 0 within 1 s; the blocked readers end', async () => {
    const mount = await Mount.start(['--run-timeout', '0']);
    const readers: Reader[] = [];
    try {
      await spinningVm(mount, 'a', 2);
      await spinningVm(mount, 'b');
      await mount.ok('truncate -s 16M "$M/b/memory"');
      readers.push(...['a/vcpu0', 'a/vcpu1', 'b/vcpu0'].map((vcpu) => startReader(`${mount.dir}/${vcpu}/run`)));
      await sleep(400);
      expect(readers.map(still)).toEqual([true, true, true]);

      const started = Date.now();
      mount.daemon.kill('SIGTERM');
      const [code, signal] = await Promise.race([
        once(mount.daemon, 'exit') as Promise<[number | null, NodeJS.Signals | null]>,
        sleep(5000).then(() => [undefined, undefined] as const),
      ]);
      const exitMs = Date.now() - started;
      const exits = await Promise.all(readers.map((reader) => exitWithin(reader, 3000)));
      const readersMs = Math.max(...exits.map((exit) => (exit ? exit.at - started : Infinity)));
      console.log(`SIGTERM with 3 running vcpus: daemon exited ${code} after ${exitMs} ms; readers ended after ${readersMs} ms with ${JSON.stringify(readers.map((r) => (r.stdout || r.stderr).trim()))}`);
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(exitMs).toBeLessThan(1000 * slowdown);
      expect(readers.filter(still)).toHaveLength(0);
      // each reader got a defined answer: intr (the vcpu was stopped), or an error when the daemon
      // exited before the answer went out (ECONNABORTED)
      for (const reader of readers) expect(reader.stdout === 'intr\n' || /connection abort|not connected/.test(reader.stderr)).toBe(true);
      expect(await isMounted(mount.dir)).toBe(false);
      expect(await sh(mount.dir, 'ls -A "$M"')).toEqual({ stdout: '', stderr: '', code: 0 });
    } finally {
      for (const reader of readers.filter(still)) reader.child.kill('SIGKILL');
      await mount.stop();
    }
  });
});

describe('a guest that triple faults', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  it('returns shutdown; the VM stays inspectable, a new run gives a defined answer, and it can be reloaded', async () => {
    // protected mode: lidt of a zero-limit IDT, then ud2: #UD, #GP and #DF cannot be delivered
    await loadVm(mount, 'tf', guests.tripleFault, 'protected');
    expect(await mount.ok('cat "$M/tf/vcpu0/run"')).toBe('shutdown\n');

    const regs = await mount.ok('cat "$M/tf/vcpu0/regs"');
    expect(lines(regs)).toHaveLength(18);
    expect(reg(regs, 'rip')).toBe(0x1007n); // at the ud2
    const sregs = await mount.ok('cat "$M/tf/vcpu0/sregs"');
    expect(lines(sregs)).toHaveLength(18);
    expect(sregs).toMatch(/^idt base=0x0000000000000000 limit=0x0000$/m);
    const code = await mount.ok(`od -An -v -tx1 -j 4096 -N ${guests.tripleFault.length} "$M/tf/memory"`);
    expect(code.trim().split(/\s+/).map((b) => parseInt(b, 16))).toEqual(guests.tripleFault);
    expect(await mount.ok('cat "$M/tf/last_error"')).toBe('');

    // running it again: an exit line (here the same fault again), not an errno or a hang
    const again = await mount.sh('for i in 1 2 3; do timeout 5 cat "$M/tf/vcpu0/run"; done');
    expect(again.code).toBe(0);
    console.log(`triple fault, then 3 more runs: ${JSON.stringify(lines(again.stdout))}`);
    expect(lines(again.stdout)).toHaveLength(3);
    for (const line of lines(again.stdout)) expect(line).toMatch(EXIT_LINE);

    // the VM is reusable: a usable IDT, new code, and it runs it
    await mount.ok(`
      printf '${guests.printfBytes([0xb0, 0x4f, 0xe6, 0xe9, 0xf4])}' | dd of="$M/tf/memory" bs=1 seek=$((0x1100)) conv=notrunc status=none
      cat > "$M/tf/vcpu0/sregs" <<'SREGS'
${guests.protectedModeSregs}idt base=0x0 limit=0x3ff
SREGS
      echo 'rip 0x1100' > "$M/tf/vcpu0/regs"
    `);
    expect(lines(await mount.ok('cat "$M/tf/vcpu0/run"; cat "$M/tf/vcpu0/run"'))).toEqual(['io out port=0x00e9 size=1 count=1 data=0x4f', 'hlt']);
    // and it can be destroyed
    await mount.ok('rmdir "$M/tf" && ! test -e "$M/tf"');
  });
});

describe('a client killed in the middle of a run (default --run-timeout 1000)', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  it('leaves the vcpu usable: within the run timeout the next run works, and regs can be written', async () => {
    await spinningVm(mount, 'spin');
    const reader = startReader(`${mount.dir}/spin/vcpu0/run`);
    await sleep(300);
    expect(still(reader)).toBe(true);
    const killedAt = Date.now();
    reader.child.kill('SIGKILL');
    // at once, try the next run: EBUSY while the killed one is still running, then a normal run.
    // accepted= is when the attempt that got through started (ms since the epoch, as Date.now())
    const next = mount.ok(`
      R="$M/spin/vcpu0/run"
      busy=0
      while :; do
        ts=$(date +%s%N)
        if line=$(cat "$R" 2> /dev/null); then break; fi
        busy=$((busy + 1)); sleep 0.02
      done
      echo "busy=$busy first=$line accepted=$((ts / 1000000))"
      ${PRINTF} 'rax 0x1234\\nrip 0x1100\\n' > "$M/spin/vcpu0/regs"
      printf '\\xf4' | dd of="$M/spin/memory" bs=1 seek=$((0x1100)) conv=notrunc status=none
      cat "$R"
      grep -E '^(rax|rip) ' "$M/spin/vcpu0/regs"
    `);
    // a process killed while FUSE has its read waits for the answer: the kill's FUSE_INTERRUPT stops the run at once
    const exit = await exitWithin(reader, 3000);
    expect(exit, 'the killed reader is still there 3 s later').toBeDefined();
    const goneMs = exit!.at - killedAt;
    const out = await next;
    const [status, hlt, rax, rip] = lines(out);
    const acceptedMs = Number(/accepted=(\d+)/.exec(status!)![1]) - killedAt;
    console.log(`killed 300 ms into a 1000 ms run: reader gone after ${goneMs} ms; next run accepted ${acceptedMs} ms after the kill (${status})`);
    // the killed run ended at once (FUSE_INTERRUPT), and at the latest at its run timeout
    expect(goneMs).toBeLessThan(1000 + 300);
    expect(acceptedMs).toBeLessThan(1000 + 300);
    // the first run that got through was a whole (spinning) run ending in intr
    expect(status).toMatch(/^busy=\d+ first=intr accepted=\d+$/);
    // regs were writable, and the guest ran the new code
    expect(hlt).toBe('hlt');
    expect(rax).toBe('rax 0x0000000000001234');
    expect(rip).toBe('rip 0x0000000000001101');
  });
});
