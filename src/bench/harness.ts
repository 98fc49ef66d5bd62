// What every group of bench rows uses: the scratch directory, daemons and
// floors started and stopped, VMs made through the mount, the C client, and
// the statistics (paired turns: see `paired`).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeTools } from './native.js';

export const cli = resolve(fileURLToPath(import.meta.url), '..', '..', 'cli', 'main.js');
export const REPS = 9;
/** out %al,$0xe9; jmp .-2: an exit on every iteration */
export const EXIT_LOOP = '\\xe6\\xe9\\xeb\\xfc';
/** jmp .: never exits */
export const SPIN = '\\xeb\\xfe';

export const log = (text: string) => process.stderr.write(`bench: ${text}\n`);
export const work = mkdtempSync(join(tmpdir(), 'kvmfs-bench-'));
const children: ChildProcess[] = [];
const mounts = new Set<string>();

export function shell(script: string): string {
  return execFileSync('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8' });
}

export function waitForMount(dir: string, file: string): void {
  shell(`for i in $(seq 400); do [ -e "${dir}/${file}" ] && exit 0; sleep 0.025; done; exit 1`);
}

/** Starts `command` mounting `dir` (made if need be); it is stopped and unmounted at the end. */
export function startServer(command: string, args: string[], dir: string): ChildProcess {
  shell(`mkdir -p "${dir}"`);
  mounts.add(dir);
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

/** A kvmfs daemon mounting `dir`, not waited for. */
export function spawnDaemon(dir: string, args: string[] = []): ChildProcess {
  // the flag the bin's shebang gives (src/cli/main.ts)
  return startServer(process.execPath, ['--max-semi-space-size=1', cli, 'mount', dir, ...args], dir);
}

/** A kvmfs daemon on `dir`, once it answers. */
export function startDaemon(dir: string, args: string[] = []): ChildProcess {
  const daemon = spawnDaemon(dir, args);
  waitForMount(dir, 'api_version');
  return daemon;
}

/** The FUSE over io_uring floor (native/uring-floor.c) on `dir`, once it answers. */
export function startUringFloor(tools: NativeTools, dir: string): ChildProcess {
  const floor = startServer(tools.uringFloor, [dir], dir);
  waitForMount(dir, 'run');
  return floor;
}

export async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** A VM with `vcpus` vcpus in real mode at 0x1000 running `code`. */
export function makeVm(dir: string, name: string, code: string, vcpus = 1, memory = '1M'): string {
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

export function client(tools: NativeTools, ...args: string[]): number {
  return Number(execFileSync(tools.client, args, { encoding: 'utf8' }).trim());
}

/** Runs the clients at the same time; returns each one's figure. */
export async function clientsTogether(tools: NativeTools, argsList: string[][]): Promise<number[]> {
  return Promise.all(argsList.map((args) => new Promise<number>((resolve, reject) => {
    const child = spawn(tools.client, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    child.on('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`client ${args.join(' ')} exited ${code}`))));
  })));
}

export interface Figure { median: number; min: number; max: number }
export function figure(samples: number[]): Figure {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

export interface Paired { a: Figure; b: Figure; ratio: Figure }
/**
 * Measures `a` and `b` in turns, REPS times each, so both see the same
 * moments of a machine whose speed drifts; the ratio is the median (and
 * spread) of the ratios of each turn's pair (a / b), not the ratio of two
 * medians.
 */
export async function paired(whatA: string, a: () => number | Promise<number>, whatB: string, b: () => number | Promise<number>): Promise<Paired> {
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < REPS; i++) {
    as.push(await a());
    bs.push(await b());
  }
  log(`${whatA}: ${as.map((s) => s.toFixed(1)).join(' ')}`);
  log(`${whatB}: ${bs.map((s) => s.toFixed(1)).join(' ')}`);
  return { a: figure(as), b: figure(bs), ratio: figure(as.map((value, i) => value / bs[i]!)) };
}

export async function repeat(what: string, measure: () => number | Promise<number>): Promise<Figure> {
  const samples: number[] = [];
  for (let i = 0; i < REPS; i++) samples.push(await measure());
  log(`${what}: ${samples.map((s) => s.toFixed(1)).join(' ')}`);
  return figure(samples);
}

export interface Row {
  name: string;
  unit: string;
  kvmfs: Figure;
  baseline?: { name: string; figure: Figure };
  /** kvmfs / baseline, per turn */
  ratio?: Figure;
  target: string;
  met: boolean;
}

/** A row of a paired measure, with a target on the ratio's median (`undefined`: informative). */
export function pairedRow(name: string, unit: string, measured: Paired, baseline: string, target?: { text: string; met: (ratio: number) => boolean }): Row {
  return {
    name, unit, kvmfs: measured.a, baseline: { name: baseline, figure: measured.b }, ratio: measured.ratio,
    target: target?.text ?? '(informative)', met: target ? target.met(measured.ratio.median) : true,
  };
}

export const atMost = (limit: number) => ({ text: `<= ${limit}x`, met: (ratio: number) => ratio <= limit });
export const atLeast = (limit: number) => ({ text: `>= ${limit}x`, met: (ratio: number) => ratio >= limit });

export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** Stops every server started, unmounts their mounts, removes the scratch directory. */
export function cleanup(): void {
  for (const child of children) child.kill('SIGTERM');
  for (const dir of mounts) {
    try { execFileSync('umount', ['-l', dir], { stdio: 'ignore' }); } catch { /* not mounted */ }
  }
  setTimeout(() => rmSync(work, { recursive: true, force: true }), 500).unref();
}
