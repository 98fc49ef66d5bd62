// `npm run bench`: kvmfs measured side by side with its floors, in one run.
// Progress goes to stderr, the results table to stdout (--json for machines).
// Every client is a separate process (native/client.c), so the daemon under
// test never touches its own mount.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNativeTools, type NativeTools } from './native.js';
import { rawExitLoop, rawExitsPerSecond } from './raw.js';
import { saveRestoreRows } from './save-restore.js';

const cli = resolve(fileURLToPath(import.meta.url), '..', '..', 'cli', 'main.js');
const REPS = 9;
const EXITS = 5000;
const MEMORY = 256 << 20;
/** How long each raw scaling sample loops. */
const RAW_SCALING_MS = 1000;
/** out %al,$0xe9; jmp .-2: an exit on every iteration */
const EXIT_LOOP = '\\xe6\\xe9\\xeb\\xfc';
/** jmp .: never exits */
const SPIN = '\\xeb\\xfe';
/** Where the bench mounts a kvmfs with --no-io-uring */
const DEV_FUSE_DIR = 'kvmfs-dev-fuse';

const json = process.argv.includes('--json');
/** `--only <row>`: run that row alone (save-restore) */
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const log = (text: string) => process.stderr.write(`bench: ${text}\n`);
const work = mkdtempSync(join(tmpdir(), 'kvmfs-bench-'));
const children: ChildProcess[] = [];

function shell(script: string): string {
  return execFileSync('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8' });
}

function waitForMount(dir: string, file: string): void {
  shell(`for i in $(seq 400); do [ -e "${dir}/${file}" ] && exit 0; sleep 0.025; done; exit 1`);
}

function startDaemon(dir: string, args: string[] = []): ChildProcess {
  shell(`mkdir -p "${dir}"`);
  const daemon = spawn(process.execPath, [cli, 'mount', dir, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(daemon);
  waitForMount(dir, 'api_version');
  return daemon;
}

/** A VM with `vcpus` vcpus in real mode at 0x1000 running `code`. */
function makeVm(dir: string, name: string, code: string, vcpus = 1, memory = '1M'): string {
  const vm = `${dir}/${name}`;
  shell(`mkdir "${vm}" && truncate -s ${memory} "${vm}/memory"
    printf '${code}' | dd of="${vm}/memory" bs=4096 seek=1 conv=notrunc status=none
    for n in $(seq 0 ${vcpus - 1}); do
      mkdir "${vm}/vcpu$n"
      echo 'cs base=0 selector=0' > "${vm}/vcpu$n/sregs"
      echo 'rip 0x1000' > "${vm}/vcpu$n/regs"
    done`);
  return vm;
}

function client(tools: NativeTools, ...args: string[]): number {
  return Number(execFileSync(tools.client, args, { encoding: 'utf8' }).trim());
}

/** Runs the clients at the same time; returns each one's figure. */
async function clientsTogether(tools: NativeTools, argsList: string[][]): Promise<number[]> {
  return Promise.all(argsList.map((args) => new Promise<number>((resolve, reject) => {
    const child = spawn(tools.client, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    child.on('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`client ${args.join(' ')} exited ${code}`))));
  })));
}

interface Figure { median: number; min: number; max: number }
function figure(samples: number[]): Figure {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}
/**
 * Measures `a` and `b` in turns, REPS times each, so both see the same
 * moments of a machine whose speed drifts; the ratio is the median of the
 * ratios of each turn's pair (a / b), not the ratio of two medians.
 */
async function paired(whatA: string, a: () => number | Promise<number>, whatB: string, b: () => number | Promise<number>): Promise<{ a: Figure; b: Figure; ratio: number }> {
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < REPS; i++) {
    as.push(await a());
    bs.push(await b());
  }
  log(`${whatA}: ${as.map((s) => s.toFixed(1)).join(' ')}`);
  log(`${whatB}: ${bs.map((s) => s.toFixed(1)).join(' ')}`);
  return { a: figure(as), b: figure(bs), ratio: figure(as.map((value, i) => value / bs[i]!)).median };
}

async function repeat(what: string, measure: () => number | Promise<number>): Promise<Figure> {
  const samples: number[] = [];
  for (let i = 0; i < REPS; i++) samples.push(await measure());
  log(`${what}: ${samples.map((s) => s.toFixed(1)).join(' ')}`);
  return figure(samples);
}

interface Row {
  name: string;
  unit: string;
  kvmfs: Figure;
  baseline?: { name: string; figure: Figure };
  /** kvmfs / baseline (or the figure itself where there is no baseline) */
  ratio?: number;
  target: string;
  met: boolean;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** The rows of kvmfs save and restore, on the mount at `kvmfsDir`. */
function saveRestore(kvmfsDir: string): Promise<Row[]> {
  return saveRestoreRows({
    mountDir: kvmfsDir, workDir: work, cli, shell, repeat,
    convert: (f, into) => figure([f.min, f.median, f.max].map(into)),
  });
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const kvmfsDir = join(work, 'kvmfs');
  if (only !== undefined) {
    if (only !== 'save-restore') throw new Error(`--only ${only}: no such row (there is: save-restore)`);
    startDaemon(kvmfsDir, ['--run-timeout', '0']);
    rows.push(...await saveRestore(kvmfsDir));
    report(rows);
    return;
  }
  log(`building the native floor and client in ${work}`);
  const tools = buildNativeTools(join(work, 'native'));
  const floorDir = join(work, 'floor');
  startDaemon(kvmfsDir, ['--run-timeout', '0']);
  shell(`mkdir -p "${floorDir}"`);
  children.push(spawn(tools.floor, [floorDir], { stdio: 'ignore' }));
  waitForMount(floorDir, 'run');

  // 1. exit round trip
  const exitVm = makeVm(kvmfsDir, 'exits', EXIT_LOOP);
  client(tools, 'pread', `${exitVm}/vcpu0/run`, '500'); // warm up
  const exit = await paired(
    'exit round trip, kvmfs (µs)', () => client(tools, 'pread', `${exitVm}/vcpu0/run`, String(EXITS)) / 1000,
    'exit round trip, native C libfuse floor (µs)', () => client(tools, 'pread', `${floorDir}/run`, String(EXITS)) / 1000);
  const kvmfsExit = exit.a;
  const rawExit = await repeat('exit round trip, raw KVM_RUN in-process via koffi (µs)', () => rawExitLoop(EXITS * 4));
  rows.push({ name: 'exit round trip (run read)', unit: 'µs', kvmfs: kvmfsExit, baseline: { name: 'native C floor', figure: exit.b }, ratio: exit.ratio, target: '<= 1.5x', met: exit.ratio <= 1.5 });
  rows.push({ name: 'exit round trip vs raw', unit: 'µs', kvmfs: kvmfsExit, baseline: { name: 'raw KVM_RUN (koffi)', figure: rawExit }, ratio: kvmfsExit.median / rawExit.median, target: '(informative)', met: true });
  // The same loop on a kvmfs that reads /dev/fuse alone, as the floor does:
  // what FUSE over io_uring is worth here (a mount of its own, stopped after).
  const devFuseDaemon = startDaemon(join(work, DEV_FUSE_DIR), ['--run-timeout', '0', '--no-io-uring']);
  const devFuseVm = makeVm(join(work, DEV_FUSE_DIR), 'exits', EXIT_LOOP);
  client(tools, 'pread', `${devFuseVm}/vcpu0/run`, '500'); // warm up
  const devFuseExit = await paired(
    'exit round trip, kvmfs --no-io-uring (µs)', () => client(tools, 'pread', `${devFuseVm}/vcpu0/run`, String(EXITS)) / 1000,
    'exit round trip, native C libfuse floor (µs)', () => client(tools, 'pread', `${floorDir}/run`, String(EXITS)) / 1000);
  devFuseDaemon.kill('SIGTERM');
  await new Promise((r) => devFuseDaemon.once('exit', r));
  rows.push({ name: 'exit round trip, --no-io-uring (/dev/fuse alone)', unit: 'µs', kvmfs: devFuseExit.a, baseline: { name: 'native C floor', figure: devFuseExit.b }, ratio: devFuseExit.ratio, target: '(informative)', met: true });

  // 2. state read
  const regs = await paired(
    'regs pread, kvmfs (µs)', () => client(tools, 'pread', `${exitVm}/vcpu0/regs`, String(EXITS)) / 1000,
    'null pread, native floor (µs)', () => client(tools, 'pread', `${floorDir}/null`, String(EXITS)) / 1000);
  rows.push({ name: 'regs pread', unit: 'µs', kvmfs: regs.a, baseline: { name: 'native null pread', figure: regs.b }, ratio: regs.ratio, target: '<= 1.5x', met: regs.ratio <= 1.5 });
  // The row above reads an idle vcpu again and again: after the first read
  // its text is kept until the vcpu runs or is written. This one reads regs
  // once after each exit, so every read makes KVM_GET_REGS and renders.
  const regsAfterRun = await paired(
    'regs pread after each exit, kvmfs (µs)', () => client(tools, 'pread-after-run', `${exitVm}/vcpu0/regs`, String(EXITS / 5), `${exitVm}/vcpu0/run`) / 1000,
    'null pread after each exit, native floor (µs)', () => client(tools, 'pread-after-run', `${floorDir}/null`, String(EXITS / 5), `${floorDir}/run`) / 1000);
  rows.push({ name: 'regs pread, first after each exit', unit: 'µs', kvmfs: regsAfterRun.a, baseline: { name: 'native null pread', figure: regsAfterRun.b }, ratio: regsAfterRun.ratio, target: '(informative)', met: true });

  // 3. memory
  shell(`truncate -s ${MEMORY} "${exitVm}/memory"`);
  for (const mode of ['seqread', 'seqwrite'] as const) {
    const memory = await paired(
      `memory ${mode}, kvmfs (MiB/s)`, () => client(tools, mode, `${exitVm}/memory`, String(MEMORY)),
      `memory ${mode}, native floor (MiB/s)`, () => client(tools, mode, `${floorDir}/mem`, String(MEMORY)));
    rows.push({ name: `memory ${mode === 'seqread' ? 'read' : 'write'} (1 MiB ops)`, unit: 'MiB/s', kvmfs: memory.a, baseline: { name: 'native buffer', figure: memory.b }, ratio: memory.ratio, target: '>= 0.8x', met: memory.ratio >= 0.8 });
  }

  // 4. scaling
  const pairVm = makeVm(kvmfsDir, 'pair', EXIT_LOOP, 2);
  const perSecond = (nsPerExit: number) => 1e9 / nsPerExit;
  const scaling = await paired(
    'exits/s, 2 vcpus', async () => (await clientsTogether(tools, [0, 1].map((n) => ['pread', `${pairVm}/vcpu${n}/run`, String(EXITS)]))).map(perSecond).reduce((a, b) => a + b),
    'exits/s, 1 vcpu', async () => (await clientsTogether(tools, [['pread', `${pairVm}/vcpu0/run`, String(EXITS)]])).map(perSecond).reduce((a, b) => a + b));
  rows.push({ name: 'scaling: exits/s, 2 vcpus vs 1', unit: 'exits/s', kvmfs: scaling.a, baseline: { name: '1 vcpu', figure: scaling.b }, ratio: scaling.ratio, target: '>= 1.6x', met: scaling.ratio >= 1.6 });
  // What the host itself allows: the same loops with raw KVM_RUN, a thread per vcpu, no FUSE.
  const ceiling = await paired(
    'exits/s, raw KVM_RUN, 2 vcpus', () => rawExitsPerSecond(2, RAW_SCALING_MS),
    'exits/s, raw KVM_RUN, 1 vcpu', () => rawExitsPerSecond(1, RAW_SCALING_MS));
  rows.push({ name: 'scaling ceiling: raw KVM_RUN, 2 vcpus vs 1', unit: 'exits/s', kvmfs: ceiling.a, baseline: { name: '1 vcpu', figure: ceiling.b }, ratio: ceiling.ratio, target: '(informative)', met: true });

  // 6. stop latency
  const spinVm = makeVm(kvmfsDir, 'spin', SPIN);
  const stop = await repeat('stop latency (ms)', () => client(tools, 'stop', `${spinVm}/vcpu0/run`, `${spinVm}/vcpu0/stop`) / 1e6);
  rows.push({ name: 'stop latency', unit: 'ms', kvmfs: stop, target: '< 10 ms', met: stop.median < 10 });

  // 5. footprint, on a daemon of its own
  const footprintDir = join(work, 'footprint');
  const startups: number[] = [];
  let daemon: ChildProcess | undefined;
  for (let i = 0; i < REPS; i++) {
    const started = process.hrtime.bigint();
    daemon = spawn(process.execPath, [cli, 'mount', footprintDir], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(daemon);
    shell(`mkdir -p "${footprintDir}"; until [ "$(cat "${footprintDir}/api_version" 2>/dev/null)" = 12 ]; do :; done`);
    startups.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (i < REPS - 1) {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon!.once('exit', r));
    }
  }
  const startup = figure(startups);
  log(`mount to first cat api_version (ms): ${startups.map((s) => s.toFixed(1)).join(' ')}`);
  rows.push({ name: 'mount to first cat api_version', unit: 'ms', kvmfs: startup, target: '(informative)', met: true });
  shell(`for i in $(seq 100); do mkdir "${footprintDir}/vm$i"; truncate -s 64M "${footprintDir}/vm$i/memory"; done`);
  const rss = await repeat('daemon RSS with 100 idle VMs x 64 MiB (MiB)', async () => {
    await new Promise((r) => setTimeout(r, 200));
    return rssMiB(daemon!.pid!);
  });
  rows.push({ name: 'RSS, 100 idle VMs x 64 MiB', unit: 'MiB', kvmfs: rss, target: '< 200 MiB', met: rss.median < 200 });

  // 7. save and restore
  rows.push(...await saveRestore(kvmfsDir));

  report(rows);
}

function report(rows: Row[]): void {
  const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', kernel: shell('uname -r').trim(), node: process.version, reps: REPS };
  if (json) {
    process.stdout.write(`${JSON.stringify({ machine, rows }, null, 2)}\n`);
    return;
  }
  const show = (f: Figure) => `${f.median.toFixed(1)} (${f.min.toFixed(1)}–${f.max.toFixed(1)})`;
  const lines = [
    `machine: ${machine.cpus} x ${machine.model}, Linux ${machine.kernel}, Node ${machine.node}; median (min–max) of ${REPS} runs; a ratio is the median of ${REPS} ratios measured in turns`,
    '',
    '| measure | unit | kvmfs | baseline | ratio | target | met |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((row) => `| ${row.name} | ${row.unit} | ${show(row.kvmfs)} | ${row.baseline ? `${row.baseline.name}: ${show(row.baseline.figure)}` : '–'} | ${row.ratio === undefined ? '–' : `${row.ratio.toFixed(2)}x`} | ${row.target} | ${row.met ? 'yes' : 'NO'} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function cleanup(): void {
  for (const child of children) child.kill('SIGTERM');
  for (const dir of ['kvmfs', DEV_FUSE_DIR, 'floor', 'footprint']) {
    try { execFileSync('umount', ['-l', join(work, dir)], { stdio: 'ignore' }); } catch { /* not mounted */ }
  }
  setTimeout(() => rmSync(work, { recursive: true, force: true }), 500).unref();
}

main().then(
  () => { cleanup(); setTimeout(() => process.exit(0), 700); },
  (error) => { log(`failed: ${(error as Error).stack}`); cleanup(); setTimeout(() => process.exit(1), 700); },
);
