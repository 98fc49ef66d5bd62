#!/usr/bin/env node
// `npm run soak -- --minutes N`: kvmfs under load for N minutes, then
// SIGTERM; outside the test suite (it takes as long as it is told). The load
// is the load test's (test/e2e/clients/load-client.mjs): 4 VMs x 2 vcpus in
// exit loops, each vcpu's run read in a loop, and 8 readers of regs, sregs,
// memory, dirty_log and capabilities. It prints exits, errors, operations
// over 5 s, and the daemon's RSS, fds and threads: fresh, at the end of the
// load, and after the VMs are removed; then how SIGTERM went. It exits 1 if
// any of those is off (errors, hangs, a shutdown over 1 s, resources over
// 1.2x a fresh mount's once the VMs are gone).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const client = join(root, 'test', 'e2e', 'clients', 'load-client.mjs');
const { daemonUsage } = await import(join(root, 'test', 'e2e', 'clients', 'daemon-usage.mjs'));
const minutesArg = process.argv.indexOf('--minutes');
const minutes = minutesArg > 0 ? Number(process.argv[minutesArg + 1]) : 10;
if (!(minutes > 0)) {
  process.stderr.write('usage: npm run soak -- --minutes N [--no-io-uring]\n');
  process.exit(2);
}
const extraArgs = process.argv.includes('--no-io-uring') ? ['--no-io-uring'] : [];
const VMS = ['soak0', 'soak1', 'soak2', 'soak3'];
const READERS = 8;
/** An operation that takes longer than this is counted as a hang. */
const HANG_MS = 5000;
/** Resources after the VMs are removed may be at most this much over a fresh mount's. */
const BOUND = 1.2;
const durationMs = Math.round(minutes * 60_000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const shell = (script) => execFileSync('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8', env: { ...process.env, M: dir } });

const dir = mkdtempSync(join(tmpdir(), 'kvmfs-soak-'));
// the flag the bin's shebang gives (src/cli/main.ts)
const daemon = spawn(process.execPath, ['--max-semi-space-size=1', cli, 'mount', dir, ...extraArgs], { stdio: ['ignore', 'inherit', 'inherit'] });
for (let i = 0; i < 200 && !readdirSafe(dir).includes('api_version'); i++) await sleep(50);

function readdirSafe(path) {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** RSS (MiB), open fds and threads of the daemon, counted as the tests count them. */
function resources() {
  const { rssKiB, fds, threads } = daemonUsage(daemon.pid);
  return { rssMiB: Math.round(rssKiB / 102.4) / 10, fds, threads };
}

/**
 * Waits until the daemon's threads and fds stop changing (its readers start
 * after INIT, and a reader beyond the base set leaves after 2 s with no
 * request: steady for 3 s means none is left to go).
 */
async function settled() {
  let last = '';
  for (let i = 0, steady = 0; i < 300 && steady < 30; i++) {
    await sleep(100);
    const now = JSON.stringify({ fds: resources().fds, threads: resources().threads });
    steady = now === last ? steady + 1 : 0;
    last = now;
  }
  return resources();
}

function runClient(args) {
  const child = spawn(process.execPath, [client, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => { out += chunk; });
  return once(child, 'close').then(([code]) => ({ code, report: JSON.parse(out.trim().split('\n').pop() || '{}') }));
}

const fresh = await settled();
shell(VMS.map((vm) => `
  mkdir "$M/${vm}" && truncate -s 1M "$M/${vm}/memory" && mkdir "$M/${vm}/vcpu0" "$M/${vm}/vcpu1"
  printf '\\xe6\\xe9\\xeb\\xfc' | dd of="$M/${vm}/memory" bs=4096 seek=1 conv=notrunc status=none
  for c in vcpu0 vcpu1; do echo 'cs base=0 selector=0' > "$M/${vm}/$c/sregs"; echo 'rip 0x1000' > "$M/${vm}/$c/regs"; done`).join('\n'));
process.stderr.write(`soak: ${VMS.length} VMs x 2 vcpus in exit loops and ${READERS} readers for ${minutes} min\n`);
const clients = [
  ...VMS.flatMap((vm) => [0, 1].map((n) => runClient(['run', `${dir}/${vm}/vcpu${n}`, String(durationMs)]))),
  ...Array.from({ length: READERS }, (_, i) => runClient(['read', dir, String(durationMs), String(i + 1), VMS.join(',')])),
];
const reports = await Promise.all(clients);
const loaded = resources();
shell(`rmdir ${VMS.map((vm) => `"$M/${vm}"`).join(' ')}`);
// idle for 5 s, the daemon gives memory back (src/sys/idle-trim.ts: looked at every 5 s)
await sleep(11_000);
const removed = await settled();

let exits = 0;
let operations = 0;
let errors = 0;
let hangs = 0;
let maxMs = 0;
for (const { report } of reports) {
  for (const kind of Object.values(report.kinds ?? {})) {
    operations += kind.ops;
    errors += Object.values(kind.errors).reduce((a, b) => a + b, 0) + kind.bad;
    hangs += kind.over5s ?? 0;
    maxMs = Math.max(maxMs, kind.maxMs);
  }
  exits += Object.values(report.exits ?? {}).reduce((a, b) => a + b, 0);
}
const clientFailures = reports.filter((r) => r.code !== 0).length;

const started = Date.now();
daemon.kill('SIGTERM');
const [code] = await Promise.race([once(daemon, 'exit'), sleep(5000).then(() => [undefined])]);
const exitMs = Date.now() - started;
const mounted = readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${dir} `);
if (code === undefined) daemon.kill('SIGKILL');
if (!mounted) rmSync(dir, { recursive: true, force: true });

const row = (name, r) => `  ${name.padEnd(22)} RSS ${String(r.rssMiB).padStart(6)} MiB  fds ${String(r.fds).padStart(4)}  threads ${String(r.threads).padStart(3)}`;
const within = (r) => r.rssMiB <= fresh.rssMiB * BOUND && r.fds <= fresh.fds * BOUND && r.threads <= fresh.threads * BOUND;
const clean = code === 0 && exitMs < 1000 && !mounted;
console.log([
  `kvmfs soak, ${minutes} min${extraArgs.length ? ` (${extraArgs.join(' ')})` : ''}`,
  `  exits ${exits}, operations ${operations}, errors ${errors}, operations over ${HANG_MS / 1000} s ${hangs} (longest ${Math.round(maxMs)} ms), clients failed ${clientFailures}`,
  row('fresh mount', fresh),
  row('end of load', loaded),
  row('VMs removed', removed),
  `  within ${BOUND}x of fresh after removal: ${within(removed) ? 'yes' : 'NO'}`,
  `  SIGTERM: exit code ${code ?? 'none (killed)'} after ${exitMs} ms, mount ${mounted ? 'STILL THERE' : 'gone'}: ${clean ? 'clean' : 'NOT CLEAN'}`,
].join('\n'));
process.exit(errors === 0 && hangs === 0 && clientFailures === 0 && clean && within(removed) ? 0 : 1);
