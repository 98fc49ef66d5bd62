// Rows about the daemon itself: how long from starting it to the first
// read, and what 1000 idle VMs cost it (memory, and whether making a VM
// slows down as VMs pile up).
import { join } from 'node:path';
import type { RowGroup } from './bench.js';
import { figure, log, paired, pairedRow, REPS, repeat, rssMiB, shell, spawnDaemon, startDaemon, startServer, stop, work } from './harness.js';

const IDLE_VMS = 1000;
const IDLE_VM_MEMORY = '64M';
/** The default --max-memory is half the host's RAM: 1000 x 64 MiB (MAP_NORESERVE, never touched) is more than most hosts have. */
const IDLE_VMS_MAX_MEMORY = `${IDLE_VMS * 64}M`;

/** ms from spawning `start` to the first read of `file` giving `expected`. */
async function untilFirstRead(start: () => ReturnType<typeof spawnDaemon>, dir: string, file: string, expected: string): Promise<number> {
  const started = process.hrtime.bigint();
  const server = start();
  shell(`end=$((SECONDS + 30)); until [ "$(cat "${dir}/${file}" 2>/dev/null)" = ${expected} ]; do [ $SECONDS -lt $end ]; done`);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await stop(server);
  return ms;
}

export const footprintRows: RowGroup[] = [
  {
    key: 'mount',
    what: 'from starting the daemon to the first cat api_version, vs the C floor\'s to its first cat null',
    async measure(bench) {
      const kvmfsDir = join(work, 'startup-kvmfs');
      const floorDir = join(work, 'startup-floor');
      const measured = await paired(
        'mount to first cat api_version, kvmfs (ms)', () => untilFirstRead(() => spawnDaemon(kvmfsDir), kvmfsDir, 'api_version', '12'),
        'mount to first cat null, C io_uring floor (ms)', () => untilFirstRead(() => startServer(bench.tools.uringFloor, [floorDir], floorDir), floorDir, 'null', '0'));
      const row = pairedRow('mount to first read', 'ms', measured, 'C io_uring floor');
      return [{ ...row, target: '< 200 ms', met: measured.a.median < 200 }];
    },
  },
  {
    key: 'idle-vms',
    what: `daemon RSS with ${IDLE_VMS} idle VMs x ${IDLE_VM_MEMORY}iB, and the mkdir of the last VMs vs the first`,
    async measure(bench) {
      const dir = join(work, 'footprint');
      const daemon = startDaemon(dir, ['--max-memory', IDLE_VMS_MAX_MEMORY]);
      // one client per mkdir: it times the mkdir(2) alone
      let made: string;
      try {
        made = shell(`for i in $(seq ${IDLE_VMS}); do
            "${bench.tools.client}" mkdir "${dir}/vm$i"; truncate -s ${IDLE_VM_MEMORY} "${dir}/vm$i/memory"
          done`);
      } catch (error) {
        await stop(daemon); // not left running with hundreds of VMs through the groups after this one
        throw error;
      }
      const mkdirNs = made.trim().split('\n').map(Number);
      const first = mkdirNs.slice(0, REPS).map((ns) => ns / 1e6);
      const last = mkdirNs.slice(-REPS).map((ns) => ns / 1e6);
      log(`mkdir of VMs 1..${REPS} (ms): ${first.map((ms) => ms.toFixed(2)).join(' ')}`);
      log(`mkdir of VMs ${IDLE_VMS - REPS + 1}..${IDLE_VMS} (ms): ${last.map((ms) => ms.toFixed(2)).join(' ')}`);
      const mkdir = { a: figure(last), b: figure(first), ratio: figure(last.map((ms, i) => ms / first[i]!)) };
      const rss = await repeat(`daemon RSS with ${IDLE_VMS} idle VMs x ${IDLE_VM_MEMORY}iB (MiB)`, async () => {
        await new Promise((r) => setTimeout(r, 200));
        return rssMiB(daemon.pid!);
      });
      await stop(daemon);
      return [
        { name: `RSS, ${IDLE_VMS} idle VMs x ${IDLE_VM_MEMORY}iB`, unit: 'MiB', kvmfs: rss, target: '< 400 MiB', met: rss.median < 400 },
        pairedRow(`mkdir of VMs ${IDLE_VMS - REPS + 1}..${IDLE_VMS} vs 1..${REPS}`, 'ms', mkdir, `VMs 1..${REPS}`, { text: '< 2x', met: (ratio) => ratio < 2 }),
      ];
    },
  },
];
