// The save/restore row of `npm run bench` (alone: `npm run bench -- --only
// save-restore`): `kvmfs save` then `kvmfs restore`, each a process of its
// own as a user runs them, of a VM with 256 MiB of memory of which 16 MiB
// hold data (16 pieces of 1 MiB, one every 16 MiB, so that save scans the
// all-zero rest and skips it). The figure is the wall time of the pair, and
// what it comes to in MiB of written memory a second.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const MEMORY_MIB = 256;
const WRITTEN_MIB = 16;

export interface SaveRestoreBench<F> {
  /** A running kvmfs mount. */
  mountDir: string;
  /** A scratch directory outside it. */
  workDir: string;
  /** dist/cli/main.js */
  cli: string;
  shell(script: string): string;
  repeat(what: string, measure: () => number): Promise<F>;
  /** The same samples, each turned into another unit. */
  convert(figure: F, into: (value: number) => number): F;
}

export interface SaveRestoreRow<F> {
  name: string;
  unit: string;
  kvmfs: F;
  target: string;
  met: boolean;
}

export async function saveRestoreRows<F>(bench: SaveRestoreBench<F>): Promise<SaveRestoreRow<F>[]> {
  const vm = join(bench.mountDir, 'saved');
  const data = join(bench.workDir, 'save-restore-data');
  bench.shell(`mkdir "${vm}" && truncate -s ${MEMORY_MIB}M "${vm}/memory" && mkdir "${vm}/vcpu0"
    head -c ${WRITTEN_MIB}M /dev/urandom > "${data}"
    for i in $(seq 0 ${WRITTEN_MIB - 1}); do
      dd if="${data}" of="${vm}/memory" bs=1M skip=$i seek=$((i * ${MEMORY_MIB / WRITTEN_MIB})) count=1 conv=notrunc status=none
    done`);
  const kvmfs = (...args: string[]) => execFileSync(process.execPath, [bench.cli, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  let rep = 0;
  // --partial: the bench measures the copy, whatever state files this build serves
  const seconds = await bench.repeat(`kvmfs save + kvmfs restore, ${MEMORY_MIB} MiB with ${WRITTEN_MIB} MiB written (s)`, () => {
    const dir = join(bench.workDir, `save-${rep}`);
    const clone = join(bench.mountDir, `restored-${rep++}`);
    const started = process.hrtime.bigint();
    kvmfs('save', '--partial', vm, dir);
    kvmfs('restore', dir, clone);
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    bench.shell(`rmdir "${clone}" && rm -r "${dir}"`);
    return elapsed;
  });
  bench.shell(`rmdir "${vm}" && rm "${data}"`);
  return [
    { name: `save + restore, ${MEMORY_MIB} MiB VM, ${WRITTEN_MIB} MiB written`, unit: 's', kvmfs: seconds, target: '(informative)', met: true },
    { name: 'save + restore, written memory a second', unit: 'MiB/s', kvmfs: bench.convert(seconds, (s) => WRITTEN_MIB / s), target: '(informative)', met: true },
  ];
}
