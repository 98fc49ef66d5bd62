// Guests that spin forever or exit as fast as they can never make the rest
// of the tree slow. Probes of other files' latency are node clients run as
// child processes; timings are measured in those children.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, realModeVm } from './harness.js';
import * as guests from './guests.js';
import { PRINTF } from './assert-helpers.js';
import { exitWithin, sleep, spinningVm, startReader, still } from './faults-helpers.js';

const execFileAsync = promisify(execFile);

/** Runs a CommonJS node script (a client of the mount) with `env`; returns its stdout. */
async function nodeClient(script: string, env: Record<string, string>, timeoutMs = 30_000): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, timeout: timeoutMs });
  return stdout;
}

/**
 * A node client that, for `seconds`, reads other files of the mount in a
 * loop and times each read: regs of a VM, api_version, 4 KiB of memory.
 * Prints one JSON line: per file, count, max and median in ms.
 */
const LATENCY_PROBE = `
const fs = require('node:fs');
const M = process.env.M, VM = process.env.VM, until = Date.now() + Number(process.env.SECONDS) * 1000;
const probes = {
  regs: () => fs.readFileSync(M + '/' + VM + '/vcpu0/regs', 'utf8'),
  api_version: () => fs.readFileSync(M + '/api_version', 'utf8'),
  memory: () => { const fd = fs.openSync(M + '/' + VM + '/memory', 'r'); try { const b = Buffer.alloc(4096); fs.readSync(fd, b, 0, 4096, 0x1000); return b; } finally { fs.closeSync(fd); } },
};
const times = { regs: [], api_version: [], memory: [] };
while (Date.now() < until) {
  for (const [name, probe] of Object.entries(probes)) {
    const t0 = process.hrtime.bigint();
    const value = probe();
    times[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (name === 'api_version' && value !== '12\\n') throw new Error('api_version: ' + value);
    if (name === 'regs' && value.split('\\n').length !== 19) throw new Error('regs: ' + value);
  }
}
const summary = {};
for (const [name, list] of Object.entries(times)) {
  list.sort((a, b) => a - b);
  summary[name] = { count: list.length, max: +list[list.length - 1].toFixed(2), p95: +list[Math.floor(list.length * 0.95)].toFixed(2), median: +list[list.length >> 1].toFixed(3) };
}
console.log(JSON.stringify(summary));
`;

/** A node client that reads run at offset 0 on one open file for `seconds`: one KVM_RUN, one exit, per read. */
const EXIT_STORM = `
const fs = require('node:fs');
const fd = fs.openSync(process.env.RUN, 'r'), buffer = Buffer.alloc(256), until = Date.now() + Number(process.env.SECONDS) * 1000;
let exits = 0, first = '';
while (Date.now() < until) {
  for (let i = 0; i < 100; i++) {
    const n = fs.readSync(fd, buffer, 0, buffer.length, 0);
    if (exits === 0) first = buffer.toString('utf8', 0, n);
    exits++;
  }
}
console.log(JSON.stringify({ exits, first }));
`;

type LatencySummary = Record<'regs' | 'api_version' | 'memory', { count: number; max: number; p95: number; median: number }>;

describe('a guest that spins forever or exits without end never makes other files slow (--run-timeout 0)', () => {
  let mount: Mount;
  beforeAll(async () => {
    mount = await Mount.start(['--run-timeout', '0']);
    await spinningVm(mount, 'spin');
    await realModeVm(mount, 'storm', guests.counter);
    await mount.ok(`${PRINTF} 'rbx 0x2000\\nrdx 0xe9\\n' > "$M/storm/vcpu0/regs"`);
    await realModeVm(mount, 'quiet', guests.hello16);
  });
  afterAll(async () => { await mount.stop(); });

  /**
   * A guest that held other files up would show as reads taking as long as
   * it runs (seconds, or forever with no run limit). Reads here take ~1 ms;
   * the bounds leave room for a 2-core machine shared with other test runs
   * (their spikes reached ~500 ms), not for a stall.
   */
  function expectFast(summary: LatencySummary, label: string): void {
    console.log(`${label}: ${Object.entries(summary).map(([name, s]) => `${name} n=${s.count} median=${s.median} p95=${s.p95} max=${s.max} ms`).join('; ')}`);
    for (const s of Object.values(summary)) {
      expect(s.count).toBeGreaterThanOrEqual(5);
      expect(s.median).toBeLessThan(50);
      expect(s.p95).toBeLessThan(250);
      expect(s.max).toBeLessThan(1000);
    }
  }

  it('baseline: reads of another VM with nothing running', async () => {
    expectFast(JSON.parse(await nodeClient(LATENCY_PROBE, { M: mount.dir, VM: 'quiet', SECONDS: '1' })), 'idle');
  });

  it('while a vcpu spins in `jmp .` with no limit: other files stay fast; stop still releases it', async () => {
    const spinner = startReader(`${mount.dir}/spin/vcpu0/run`);
    try {
      await sleep(200);
      expectFast(JSON.parse(await nodeClient(LATENCY_PROBE, { M: mount.dir, VM: 'quiet', SECONDS: '2' })), 'spinning guest');
      // the spinning VM's own regs are a live snapshot, also fast
      expectFast(JSON.parse(await nodeClient(LATENCY_PROBE, { M: mount.dir, VM: 'spin', SECONDS: '1.5' })), 'the spinning VM itself');
      expect(still(spinner)).toBe(true);
    } finally {
      await mount.ok('echo 1 > "$M/spin/vcpu0/stop"');
      await exitWithin(spinner, 2000);
    }
    expect(spinner.child.exitCode).toBe(0);
    expect(spinner.stdout).toBe('intr\n');
  });

  it('while a guest exits as fast as a client can run it, and another spins: other files stay fast', async () => {
    const spinner = startReader(`${mount.dir}/spin/vcpu0/run`);
    try {
      const [storm, probe] = await Promise.all([
        nodeClient(EXIT_STORM, { RUN: `${mount.dir}/storm/vcpu0/run`, SECONDS: '3' }),
        sleep(300).then(() => nodeClient(LATENCY_PROBE, { M: mount.dir, VM: 'quiet', SECONDS: '2.4' })),
      ]);
      const { exits, first } = JSON.parse(storm) as { exits: number; first: string };
      console.log(`exit storm: ${exits} exits in 3 s (${Math.round(exits / 3)}/s), first ${JSON.stringify(first)}`);
      expect(first).toMatch(/^io out port=0x00e9 size=2 count=1 data=0x[0-9a-f]{4}\n$/);
      // thousands per second on an idle machine; a loaded one (2 cores, one taken by the spinner) does fewer
      expect(exits).toBeGreaterThan(300);
      expectFast(JSON.parse(probe), 'exit storm + spinning guest');
      // the guest really ran all those exits: its counter (ax, stored at 0x2000) advanced by one per exit
      const counter = Number(await mount.ok('od -An -tu2 -j $((0x2000)) -N 2 "$M/storm/memory"'));
      expect(counter).toBe(exits % 65536);
    } finally {
      await mount.ok('echo 1 > "$M/spin/vcpu0/stop"');
      await exitWithin(spinner, 2000);
    }
    expect(spinner.child.exitCode).toBe(0);
    expect(spinner.stdout).toBe('intr\n');
  });

  it('a tight `while :; do cat run; done` loop does not slow the rest either', async () => {
    const loop = mount.sh('end=$(( $(date +%s) + 3 )); n=0; while [ $(date +%s) -lt $end ]; do cat "$M/storm/vcpu0/run" > /dev/null; n=$((n + 1)); done; echo $n', { timeoutMs: 20_000 });
    const probe = await sleep(300).then(() => nodeClient(LATENCY_PROBE, { M: mount.dir, VM: 'quiet', SECONDS: '2' }));
    const runs = Number((await loop).stdout);
    console.log(`shell loop: ${runs} cat run`);
    expect(runs).toBeGreaterThan(20); // hundreds on an idle machine
    expectFast(JSON.parse(probe), 'shell cat-run loop');
  });
});

