// The save/restore row of `npm run bench` (alone: `npm run bench -- --only
// save-restore`): `kvmfs save` then `kvmfs restore`, each a process of its
// own as a user runs them, of a VM with 256 MiB of memory of which 16 MiB
// hold data (16 pieces of 1 MiB, one every 16 MiB, so that save scans the
// all-zero rest and skips it). The figure is the wall time of the pair, and
// what it comes to in MiB of written memory a second.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { RowGroup } from './bench.js';
import { cli, figure, repeat, shell, work, type Row } from './harness.js';

const MEMORY_MIB = 256;
const WRITTEN_MIB = 16;

async function measureSaveRestore(mountDir: string): Promise<Row[]> {
  const vm = join(mountDir, 'saved');
  const data = join(work, 'save-restore-data');
  shell(`mkdir "${vm}" && truncate -s ${MEMORY_MIB}M "${vm}/memory" && mkdir "${vm}/vcpu0"
    head -c ${WRITTEN_MIB}M /dev/urandom > "${data}"
    for i in $(seq 0 ${WRITTEN_MIB - 1}); do
      dd if="${data}" of="${vm}/memory" bs=1M skip=$i seek=$((i * ${MEMORY_MIB / WRITTEN_MIB})) count=1 conv=notrunc status=none
    done`);
  const kvmfs = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  let rep = 0;
  const seconds = await repeat(`kvmfs save + kvmfs restore, ${MEMORY_MIB} MiB with ${WRITTEN_MIB} MiB written (s)`, () => {
    const dir = join(work, `save-${rep}`);
    const clone = join(mountDir, `restored-${rep++}`);
    const started = process.hrtime.bigint();
    kvmfs('save', '--partial', vm, dir);
    kvmfs('restore', dir, clone);
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    shell(`rmdir "${clone}" && rm -r "${dir}"`);
    return elapsed;
  });
  shell(`rmdir "${vm}" && rm "${data}"`);
  // MiB a second falls as seconds rise: the slowest save is the lowest rate
  const perSecond = figure([seconds.min, seconds.median, seconds.max].map((s) => WRITTEN_MIB / s));
  return [
    { name: `save + restore, ${MEMORY_MIB} MiB VM, ${WRITTEN_MIB} MiB written`, unit: 's', kvmfs: seconds, target: '(informative)', met: true },
    { name: 'save + restore, written memory a second', unit: 'MiB/s', kvmfs: perSecond, target: '(informative)', met: true },
  ];
}

export const saveRestoreRows: RowGroup[] = [{
  key: 'save-restore',
  what: 'kvmfs save + kvmfs restore of a 256 MiB VM with 16 MiB written: seconds, and MiB of written memory a second',
  measure: (bench) => measureSaveRestore(bench.kvmfs),
}];
