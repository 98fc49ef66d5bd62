// Load: 4 VMs x 2 vcpus running an exit loop, each vcpu driven by its own
// reader of `run`, while 8 more processes read regs, sregs, memory,
// dirty_log and capabilities, all for a bounded time. Every operation must
// succeed, none may hang, and the daemon's memory must not grow. The
// clients are test/e2e/clients/load-client.mjs, run as child processes; this
// process only reads the daemon's /proc status.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, projectRoot } from './harness.js';
import { printfBytes } from './guests.js';

const CLIENT_SCRIPT = join(projectRoot, 'test', 'e2e', 'clients', 'load-client.mjs');
const VMS = ['load0', 'load1', 'load2', 'load3'];
const VCPUS = [0, 1];
const READERS = 8;
const DURATION_MS = 12_000;
/** No single operation may take longer than this (a hang, not slowness: the machine is shared). */
const MAX_LATENCY_MS = 2_000;
/** RSS is sampled from here on; the first sample is the reference. */
const WARM_UP_MS = 3_000;
const SAMPLE_EVERY_MS = 500;

/** Real mode at 0x1000: `1: out %al,$0xe9; jmp 1b`, an exit on every loop. */
const exitLoop = [
  0xe6, 0xe9, // 0x1000: 1: out %al, $0xe9
  0xeb, 0xfc, // 0x1002: jmp 1b
];

interface Kind {
  ops: number;
  errors: Record<string, number>;
  bad: number;
  maxMs: number;
  totalMs: number;
}
interface Report {
  role: 'run' | 'read';
  kinds: Record<string, Kind>;
  examples: unknown[];
  exits?: Record<string, number>;
}
interface ClientRun {
  name: string;
  code: number | null;
  stderr: string;
  report: Report | undefined;
}

function runClient(name: string, args: string[]): Promise<ClientRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLIENT_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    // a client stuck in one operation past its duration is killed and reported without a summary
    const timer = setTimeout(() => child.kill('SIGKILL'), DURATION_MS + 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      let report: Report | undefined;
      try {
        report = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Report;
      } catch {
        report = undefined;
      }
      resolve({ name, code, stderr, report });
    });
  });
}

/** VmRSS of a process in KiB, from /proc (not the mount). */
function rssKb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : Number.NaN;
}

describe('load: 8 running vcpus and 8 readers at once', () => {
  let mount: Mount;
  let runs: ClientRun[] = [];
  const samples: Array<{ atMs: number; rssKb: number }> = [];
  const totals: Record<string, Kind> = {};

  beforeAll(async () => {
    mount = await Mount.start();
    await mount.ok(VMS.map((vm) => `
      V="$M/${vm}"
      mkdir "$V" && truncate -s 1M "$V/memory" && mkdir ${VCPUS.map((n) => `"$V/vcpu${n}"`).join(' ')}
      printf '${printfBytes(exitLoop)}' | dd of="$V/memory" bs=4096 seek=1 conv=notrunc status=none
      for c in ${VCPUS.map((n) => `vcpu${n}`).join(' ')}; do
        echo 'cs base=0 selector=0' > "$V/$c/sregs"
        echo 'rip 0x1000' > "$V/$c/regs"
      done`).join('\n'));

    const pid = mount.daemon.pid!;
    const started = performance.now();
    const sampler = setInterval(() => {
      const atMs = performance.now() - started;
      if (atMs >= WARM_UP_MS) samples.push({ atMs: Math.round(atMs), rssKb: rssKb(pid) });
    }, SAMPLE_EVERY_MS);
    const runners = VMS.flatMap((vm) => VCPUS.map((n) => runClient(`${vm}/vcpu${n} run`, ['run', `${mount.dir}/${vm}/vcpu${n}`, String(DURATION_MS)])));
    const readers = Array.from({ length: READERS }, (_, i) => runClient(`reader ${i}`, ['read', mount.dir, String(DURATION_MS), String(i + 1), VMS.join(',')]));
    runs = await Promise.all([...runners, ...readers]);
    clearInterval(sampler);
    samples.push({ atMs: Math.round(performance.now() - started), rssKb: rssKb(pid) });

    for (const run of runs) {
      for (const [name, k] of Object.entries(run.report?.kinds ?? {})) {
        const t = (totals[name] ??= { ops: 0, errors: {}, bad: 0, maxMs: 0, totalMs: 0 });
        t.ops += k.ops;
        t.bad += k.bad;
        t.totalMs += k.totalMs;
        t.maxMs = Math.max(t.maxMs, k.maxMs);
        for (const [errno, n] of Object.entries(k.errors)) t.errors[errno] = (t.errors[errno] ?? 0) + n;
      }
    }
    const seconds = DURATION_MS / 1000;
    console.log([
      `kvmfs load: ${VMS.length} VMs x ${VCPUS.length} vcpus running, ${READERS} readers, ${seconds} s`,
      ...Object.entries(totals).map(([name, t]) =>
        `  ${name.padEnd(12)} ${String(t.ops).padStart(7)} ops (${Math.round(t.ops / seconds)}/s), errors ${JSON.stringify(t.errors)}, bad results ${t.bad}, max ${t.maxMs} ms, mean ${(t.totalMs / Math.max(1, t.ops)).toFixed(2)} ms`),
      `  runs per vcpu: ${runs.filter((r) => r.report?.role === 'run').map((r) => r.report!.kinds.run?.ops ?? 0).join(' ')}`,
      `  daemon RSS (KiB) from ${WARM_UP_MS / 1000} s on: ${samples.map((s) => s.rssKb).join(' ')}`,
    ].join('\n'));
  }, DURATION_MS + 60_000);

  afterAll(async () => {
    await mount?.stop();
  });

  it('every client ran for the whole time and reported', () => {
    for (const run of runs) {
      expect(run.report, `${run.name}: exit ${run.code}, no report (killed while stuck?)\n${run.stderr.slice(-2000)}`).toBeDefined();
      expect(run.code, `${run.name}: ${run.stderr.slice(-2000)}`).toBe(0);
    }
  });

  it('every operation succeeded and returned what it should', () => {
    for (const [name, t] of Object.entries(totals)) {
      expect(t.errors, `${name}: ${JSON.stringify(runs.flatMap((r) => r.report?.examples ?? []).slice(0, 5))}`).toEqual({});
      expect(t.bad, `${name}: ${JSON.stringify(runs.flatMap((r) => r.report?.examples ?? []).slice(0, 5))}`).toBe(0);
    }
  });

  it('every kind of operation made progress: no vcpu and no reader was starved', () => {
    for (const run of runs) {
      const kinds = run.report?.role === 'run' ? ['run'] : ['regs', 'sregs', 'memory', 'dirty_log', 'capabilities'];
      for (const name of kinds) expect(run.report?.kinds[name]?.ops ?? 0, `${run.name}: ${name}`).toBeGreaterThan(10);
    }
  });

  it(`no operation took longer than ${MAX_LATENCY_MS} ms`, () => {
    for (const [name, t] of Object.entries(totals)) expect(t.maxMs, name).toBeLessThan(MAX_LATENCY_MS);
  });

  it('the daemon\'s memory stayed flat (final RSS < 1.5x the RSS after warm-up)', () => {
    expect(samples.length).toBeGreaterThan(5);
    const [first] = samples;
    const last = samples[samples.length - 1]!;
    expect(last.rssKb, `RSS samples (KiB): ${samples.map((s) => s.rssKb).join(' ')}`).toBeLessThan(first!.rssKb * 1.5);
  });

  it('afterwards the daemon is alive and every VM can be removed', async () => {
    expect(mount.daemon.exitCode).toBeNull();
    expect(await mount.ok('cat "$M/api_version"')).toBe('12\n');
    await mount.ok(`rmdir ${VMS.map((vm) => `"$M/${vm}"`).join(' ')}`);
    expect(await mount.ok('ls -A "$M"')).toBe('api_version\ncapabilities\nlast_error\nmsr_index_list\nsupported_cpuid\n');
  });
});
