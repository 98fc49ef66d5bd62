// `kvmfs top`: like kvm_stat, a table of the mount's VMs and vcpus (state,
// rip, exits per second by reason from the `stats` files), refreshed in
// place; --once prints one table (two samples, an interval apart) for
// scripts. Uses only the mount's files.
import { readdir, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCounters, renderTable, type VcpuSample, type VmSample } from './top-table.js';

export interface TopOptions { mount?: string; once: boolean; intervalMs: number }

/** The first kvmfs mount in /proc/mounts. */
function findMount(): string {
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, mountPoint, type] = line.split(' ');
    if (type === 'fuse.kvmfs' && mountPoint) return mountPoint.replace(/\\040/g, ' ');
  }
  throw new Error('no kvmfs mount found in /proc/mounts: name one (kvmfs top <mount>)');
}

/** A file's text, or undefined if the mount does not have it (or it cannot be read now). */
async function text(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function sampleVcpu(dir: string, name: string): Promise<VcpuSample> {
  const [stats, mpState, regs] = await Promise.all([text(join(dir, 'stats')), text(join(dir, 'mp_state')), text(join(dir, 'regs'))]);
  return {
    name,
    mpState: mpState?.trim() || undefined,
    rip: regs === undefined ? undefined : parseCounters(regs).get('rip'),
    stats: stats === undefined ? undefined : parseCounters(stats),
  };
}

/** Every VM directory of the mount and its vcpu<N> directories, by name. */
async function sample(mount: string): Promise<VmSample[]> {
  const entries = await readdir(mount, { withFileTypes: true });
  const vms = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  return Promise.all(vms.map(async (vm) => {
    const vcpuNames = (await readdir(join(mount, vm)).catch(() => [])).filter((name) => /^vcpu\d+$/.test(name))
      .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
    return { name: vm, vcpus: await Promise.all(vcpuNames.map((vcpu) => sampleVcpu(join(mount, vm, vcpu), vcpu))) };
  }));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Cursor home and clear the screen: the table is redrawn in place. */
const REDRAW = '\x1b[H\x1b[2J';

export async function top(options: TopOptions): Promise<void> {
  const mount = options.mount ?? findMount();
  let before = await sample(mount);
  let taken = Date.now();
  for (;;) {
    await sleep(options.intervalMs);
    const after = await sample(mount);
    const now = Date.now();
    const table = renderTable(before, after, (now - taken) / 1000);
    if (options.once) {
      process.stdout.write(table);
      return;
    }
    const title = `kvmfs top ${mount}  every ${options.intervalMs / 1000} s  ${new Date(now).toISOString().slice(11, 19)} UTC  (Ctrl-C quits)`;
    process.stdout.write(`${REDRAW}${title}\n\n${after.length === 0 ? '(no VMs)\n' : table}`);
    before = after;
    taken = now;
  }
}
