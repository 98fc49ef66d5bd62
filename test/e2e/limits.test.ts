// Limits: --max-memory, --max-vms and --max-vcpus bound what users can make
// the daemon hold (ENOSPC past them, with the reason in last_error), KVM's
// own vcpu id limit comes back as KVM's errno, and nothing grows per open
// file or per exit: the daemon's RSS, threads and fds stay flat over
// thousands of opens and exits (driven by node child processes).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daemonUsage as usage, Mount, realModeVm, type Usage } from './harness.js';
import { fails, PRINTF } from './assert-helpers.js';
import * as guests from './guests.js';

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs a CommonJS node script (a client of the mount) with `env`; returns its stdout. */
async function nodeClient(script: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, timeout: 50_000 });
  return stdout;
}

/**
 * A vcpu's runs hold a reader thread; the session adds readers under
 * concurrent requests. Waits (up to 2 s) for the count to settle at or
 * below `limit`; returns it.
 */
async function threadsSettle(mount: Mount, limit: number): Promise<number> {
  let threads = usage(mount).threads;
  for (let i = 0; i < 40 && threads > limit; i++) {
    await sleep(50);
    threads = usage(mount).threads;
  }
  return threads;
}

describe('--max-memory 8M: guest RAM of all VMs together', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(['--max-memory', '8M']); });
  afterAll(async () => { await mount.stop(); });

  it('growing past 8 MiB in total is ENOSPC, last_error says why, and nothing changes', async () => {
    await mount.ok('mkdir "$M/a" "$M/b" "$M/c" && truncate -s 4M "$M/a/memory" && truncate -s 3M "$M/b/memory"');
    await fails(mount, 'truncate -s 5M "$M/b/memory"', 'No space left on device');
    expect(await mount.ok('cat "$M/b/last_error"')).toBe(`memory: cannot grow memory to ${5 * MiB} bytes: over the mount's --max-memory (${MiB} bytes left)\n`);
    // exactly up to the limit is fine, one page more is not
    await mount.ok('truncate -s 1M "$M/c/memory"');
    await fails(mount, 'truncate -s 1028K "$M/c/memory"', 'No space left on device');
    expect(await mount.ok('cat "$M/c/last_error"')).toMatch(/^memory: cannot grow memory to 1052672 bytes: over the mount's --max-memory \(0 bytes left\)\n$/);
    // absurd sizes are refused the same way (the daemon keeps serving)
    await fails(mount, 'truncate -s 1E "$M/c/memory"', 'No space left on device');
    await fails(mount, 'truncate -s 9223372036854775807 "$M/c/memory"', 'No space left on device');
    expect(await mount.ok('stat -c %s "$M/a/memory" "$M/b/memory" "$M/c/memory"')).toBe(`${4 * MiB}\n${3 * MiB}\n${MiB}\n`);
    // a write cannot grow memory either
    await fails(mount, 'printf x | dd of="$M/c/memory" bs=1 seek=$((1024 * 1024)) conv=notrunc status=none', 'No space left on device');
    expect(await mount.ok('cat "$M/c/last_error"')).toMatch(/^memory: write of 1 bytes at 0x100000 ends past the end of memory/);
    // rmdir gives the memory back
    await mount.ok('rmdir "$M/a" && truncate -s 5M "$M/c/memory"');
    expect(await mount.ok('stat -c %s "$M/c/memory"')).toBe(`${5 * MiB}\n`);
  });
});

describe('memory growths per VM', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  it('memory may grow 64 times (each growth is a KVM memory slot); the 65th is ENOSPC and changes nothing', async () => {
    await mount.ok('mkdir "$M/g" && for i in $(seq 64); do truncate -s $((i * 4096)) "$M/g/memory"; done');
    expect(await mount.ok('stat -c %s "$M/g/memory"')).toBe(`${64 * 4096}\n`);
    await fails(mount, 'truncate -s 1M "$M/g/memory"', 'No space left on device');
    expect(await mount.ok('stat -c %s "$M/g/memory"')).toBe(`${64 * 4096}\n`);
    expect(await mount.ok('cat "$M/g/last_error"')).toMatch(/^memory: cannot grow memory again: it was grown 64 times/);
    // the bitmap still covers every page
    expect(await mount.ok('stat -c %s "$M/g/dirty_log"; wc -c < "$M/g/dirty_log"')).toBe('8\n8\n');
  });
});

describe('--max-vms 3', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(['--max-vms', '3']); });
  afterAll(async () => { await mount.stop(); });

  it('the 4th mkdir is ENOSPC, with the reason in the top-level last_error; rmdir frees a place', async () => {
    await mount.ok('mkdir "$M/v1" "$M/v2" "$M/v3"');
    const before = usage(mount);
    for (let i = 0; i < 3; i++) await fails(mount, 'mkdir "$M/v4"', 'No space left on device');
    expect(await mount.ok('cat "$M/last_error"')).toBe('v4: cannot create VM "v4": the mount\'s --max-vms (3) is reached\n');
    expect(await mount.ok('LC_ALL=C ls "$M"')).toBe('api_version\ncapabilities\nlast_error\nmsr_index_list\nsupported_cpuid\nv1\nv2\nv3\n');
    // no VM fd was opened for the refused ones
    expect(usage(mount).fds).toBe(before.fds);
    await mount.ok('rmdir "$M/v1" && mkdir "$M/v4" && truncate -s 4K "$M/v4/memory"');
    expect(await mount.ok('LC_ALL=C ls "$M"')).toBe('api_version\ncapabilities\nlast_error\nmsr_index_list\nsupported_cpuid\nv2\nv3\nv4\n');
  });
});

describe('--max-vcpus 2: vcpus (host threads) of all VMs together', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(['--max-vcpus', '2']); });
  afterAll(async () => { await mount.stop(); });

  it('the 3rd vcpu is ENOSPC, whichever VM it is in; last_error says why; rmdir of a VM frees its vcpus', async () => {
    await mount.ok('mkdir "$M/a" "$M/a/vcpu0" "$M/b" "$M/b/vcpu0"');
    const threads = await threadsSettle(mount, Infinity);
    await mount.ok('mkdir "$M/c"');
    for (let i = 0; i < 4; i++) {
      await fails(mount, 'mkdir "$M/b/vcpu1"', 'No space left on device');
      await fails(mount, 'mkdir "$M/a/vcpu1"', 'No space left on device');
      await fails(mount, 'mkdir "$M/c/vcpu0"', 'No space left on device');
    }
    expect(await mount.ok('cat "$M/a/last_error" "$M/c/last_error"')).toBe(
      'vcpu1: cannot create "vcpu1": the mount\'s --max-vcpus (2) is reached\n' +
      'vcpu0: cannot create "vcpu0": the mount\'s --max-vcpus (2) is reached\n');
    expect(await mount.ok('ls "$M/a" "$M/c" | grep -c vcpu')).toBe('1\n');
    // the 12 refused vcpus started no thread (each vcpu is one; libfuse may add a worker or two)
    expect(await threadsSettle(mount, threads + 2)).toBeLessThanOrEqual(threads + 2);
    await mount.ok('rmdir "$M/b" && mkdir "$M/a/vcpu1" && grep -c . "$M/a/vcpu1/regs"');
    await fails(mount, 'mkdir "$M/c/vcpu0"', 'No space left on device');
  });
});

describe('KVM\'s own vcpu id limit', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  it('a vcpu id at or past KVM_CAP_MAX_VCPU_ID is EINVAL, refused before KVM with KVM\'s limit named; no thread is left behind', async () => {
    const maxId = Number(/^max_vcpu_id (\d+)$/m.exec(await mount.ok('cat "$M/capabilities"'))![1]);
    expect(maxId).toBeGreaterThan(0);
    await mount.ok('mkdir "$M/vm"');
    const threads = await threadsSettle(mount, Infinity);
    for (const id of [maxId, 9999, 10000, 99999999]) {
      await fails(mount, `mkdir "$M/vm/vcpu${id}"`, 'Invalid argument');
      expect(await mount.ok('cat "$M/vm/last_error"'))
        .toBe(`vcpu${id}: cannot create "vcpu${id}": vcpu id ${id} is out of range (KVM takes 0 to ${maxId - 1}: KVM_CAP_MAX_VCPU_ID)\n`);
    }
    for (let i = 0; i < 10; i++) await fails(mount, `mkdir "$M/vm/vcpu${maxId}"`, 'Invalid argument');
    // a name that is no vcpu<N> at all
    await fails(mount, 'mkdir "$M/vm/vcpu01"', 'Invalid argument');
    expect(await mount.ok('cat "$M/vm/last_error"')).toMatch(/^vcpu01: cannot create "vcpu01": a VM holds only vcpu<N> directories/);
    // nothing of the failed attempts remains: no directory, no thread
    expect(await mount.ok('ls "$M/vm" | grep -c vcpu || true')).toBe('0\n');
    expect(await threadsSettle(mount, threads + 2)).toBeLessThanOrEqual(threads + 2);
    // the highest id KVM takes works
    await mount.ok(`mkdir "$M/vm/vcpu${maxId - 1}" && echo "rax 9" > "$M/vm/vcpu${maxId - 1}/regs"`);
    expect(await mount.ok(`grep ^rax "$M/vm/vcpu${maxId - 1}/regs"`)).toBe('rax 0x0000000000000009\n');
  });
});

/** Opens, reads (at 0) and closes regs, sregs and the top-level capabilities, and opens and closes run and memory, N times. */
const OPEN_CLOSE = `
const fs = require('node:fs');
const M = process.env.M, N = Number(process.env.N), buffer = Buffer.alloc(65536), t0 = Date.now();
for (let i = 0; i < N; i++) {
  for (const file of ['/a/vcpu0/regs', '/a/vcpu0/sregs', '/capabilities']) {
    const fd = fs.openSync(M + file, 'r');
    if (fs.readSync(fd, buffer, 0, buffer.length, 0) === 0) throw new Error('empty ' + file);
    fs.closeSync(fd);
  }
  fs.closeSync(fs.openSync(M + '/a/vcpu0/run', 'r+'));
  fs.closeSync(fs.openSync(M + '/a/memory', 'r'));
}
console.log(Date.now() - t0);
`;

/** A mount with VM `a` running the counter guest (inc ax; mov ax, (bx); out ax, dx; loop): one io exit per run. */
async function counterMount(): Promise<Mount> {
  const mount = await Mount.start();
  await realModeVm(mount, 'a', guests.counter);
  await mount.ok(`${PRINTF} 'rbx 0x2000\\nrdx 0xe9\\n' > "$M/a/vcpu0/regs"`);
  return mount;
}

/** Reads run at offset 0, N times, on one open file: N KVM_RUNs, N exits. */
const EXITS = `
const fs = require('node:fs');
const fd = fs.openSync(process.env.RUN, 'r'), buffer = Buffer.alloc(256), N = Number(process.env.N), t0 = Date.now();
let n = 0;
for (let i = 0; i < N; i++) n = fs.readSync(fd, buffer, 0, buffer.length, 0);
console.log(Date.now() - t0, JSON.stringify(buffer.toString('utf8', 0, n)));
`;

describe('nothing grows per open file or per exit', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await counterMount(); });
  afterAll(async () => { await mount.stop(); });

  function report(label: string, before: Usage, after: Usage, ms: number): void {
    console.log(`${label} in ${ms} ms: RSS ${before.rssKiB} -> ${after.rssKiB} KiB (${after.rssKiB - before.rssKiB >= 0 ? '+' : ''}${after.rssKiB - before.rssKiB}), threads ${before.threads} -> ${after.threads}, fds ${before.fds} -> ${after.fds}`);
  }

  it('opening and closing files 10,000 times leaves RSS, threads and fds where they were', async () => {
    // Warm up until every thread's heap has grown to the size its garbage
    // keeps it at (V8 collects old space only as it grows: each heap floats
    // up to about 20 MiB, measured), then the same again must not grow it.
    await nodeClient(OPEN_CLOSE, { M: mount.dir, N: '2000' });
    const before = usage(mount);
    const ms = Number(await nodeClient(OPEN_CLOSE, { M: mount.dir, N: '2000' }));
    const after = usage(mount);
    report('2000 x (open+read+close of regs, sregs, capabilities; open+close of run, memory), after 2000 more to warm up', before, after, ms);
    // a leaked snapshot per open would be ~6 KiB x 10,000 opens = 60 MiB; the heaps' float is up to about 12 MiB
    expect(after.rssKiB - before.rssKiB).toBeLessThan(16 * 1024);
    expect(after.fds).toBe(before.fds);
    expect(await threadsSettle(mount, before.threads + 2)).toBeLessThanOrEqual(before.threads + 2);
  }, 120_000);

  it('30,000 exits leave RSS, threads and fds where they were', async () => {
    // warm up until the heaps have grown to what their garbage keeps them at (as above)
    await nodeClient(EXITS, { RUN: `${mount.dir}/a/vcpu0/run`, N: '10000' });
    const before = usage(mount);
    const out = (await nodeClient(EXITS, { RUN: `${mount.dir}/a/vcpu0/run`, N: '30000' })).trim();
    const [ms, last] = [out.slice(0, out.indexOf(' ')), out.slice(out.indexOf(' ') + 1)];
    const after = usage(mount);
    report('30000 exits, after 10000 to warm up', before, after, Number(ms));
    // the guest counted 40,000 exits (ax, also stored at 0x2000): all were real runs
    expect(JSON.parse(last!)).toBe(`io out port=0x00e9 size=2 count=1 data=0x${(40000).toString(16).padStart(4, '0')}\n`);
    expect(await mount.ok('od -An -tu2 -j $((0x2000)) -N 2 "$M/a/memory"')).toBe(' 40000\n');
    // a leak of 1 KiB per exit would be 30 MiB; the heaps' float is up to about 12 MiB
    expect(after.rssKiB - before.rssKiB).toBeLessThan(16 * 1024);
    expect(after.fds).toBe(before.fds);
    expect(await threadsSettle(mount, before.threads + 2)).toBeLessThanOrEqual(before.threads + 2);
  }, 60_000);
});

/**
 * Opens `run` until the mount's 1024 slots for run, regs and memory files are
 * taken: the next `run` is ENFILE (a run needs a slot: it is served on a
 * reader thread), `regs` still opens and reads (served by the main thread
 * instead), and closing one `run` frees a slot.
 */
const SLOTS = `
const fs = require('node:fs');
const { RUN, REGS } = process.env;
const fds = [];
let refused = '';
for (let i = 0; i < 1100; i++) {
  try { fds.push(fs.openSync(RUN, 'r')); } catch (error) { refused = error.code; break; }
}
const regs = fs.openSync(REGS, 'r');
const firstLine = fs.readFileSync(regs, 'utf8').split('\\n')[0];
fs.closeSync(regs);
fs.closeSync(fds.pop());
const again = fs.openSync(RUN, 'r');
const exit = fs.readFileSync(again, 'utf8').trim();
console.log(JSON.stringify({ opened: fds.length + 1, refused, firstLine, exit }));
for (const fd of [...fds, again]) fs.closeSync(fd);
`;

describe('open run, regs and memory files (slots in shared memory)', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await counterMount(); });
  afterAll(async () => { await mount.stop(); });

  it('1024 at once: the next run is ENFILE, regs falls back to the main thread, a close frees a slot', async () => {
    // more fds than a shell's usual 1024 may hold
    const { stdout: out } = await execFileAsync('bash', ['-c', `ulimit -n 4096 && exec "${process.execPath}" -e "$SCRIPT"`], {
      env: { ...process.env, SCRIPT: SLOTS, RUN: `${mount.dir}/a/vcpu0/run`, REGS: `${mount.dir}/a/vcpu0/regs` }, timeout: 50_000,
    });
    expect(JSON.parse(out)).toEqual({ opened: 1024, refused: 'ENFILE', firstLine: 'rax 0x0000000000000000', exit: 'io out port=0x00e9 size=2 count=1 data=0x0001' });
  });
});
