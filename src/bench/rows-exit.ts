// Rows about guest exits: the exit round trip (a read of `run`, one
// KVM_RUN) against the C server on FUSE over io_uring, the raw ioctl and the
// libfuse 2 floor; kvmfs reading /dev/fuse alone; scaling; stop latency.
import { join } from 'node:path';
import type { RowGroup } from './bench.js';
import { atLeast, atMost, client, clientsTogether, EXIT_LOOP, figure, makeVm, paired, pairedRow, repeat, SPIN, startDaemon, stop, work } from './harness.js';
import { rawExitLoop, rawExitsPerSecond } from './raw.js';

const EXITS = 5000;
/** How long each raw scaling sample loops. */
const RAW_SCALING_MS = 1000;

export const exitRows: RowGroup[] = [
  {
    key: 'exit',
    what: 'exit round trip: kvmfs vs the C io_uring floor, raw KVM_RUN and the libfuse 2 floor',
    async measure(bench) {
      const { tools } = bench;
      const run = `${bench.vm}/vcpu0/run`;
      client(tools, 'pread', run, '500'); // warm up
      client(tools, 'pread', `${bench.floor}/run`, '500');
      const perExit = (file: string) => () => client(tools, 'pread', file, String(EXITS)) / 1000;
      const exit = await paired('exit round trip, kvmfs (µs)', perExit(run), 'exit round trip, C io_uring floor (µs)', perExit(`${bench.floor}/run`));
      const raw = await repeat('exit round trip, raw KVM_RUN in-process via koffi (µs)', () => rawExitLoop(EXITS * 4));
      const libfuse = await paired('exit round trip, kvmfs (µs)', perExit(run), 'exit round trip, C libfuse 2 floor (µs)', perExit(`${bench.libfuseFloor}/run`));
      return [
        pairedRow('exit round trip (run read)', 'µs', exit, 'C io_uring floor', atMost(1.1)),
        { name: 'exit round trip vs raw', unit: 'µs', kvmfs: exit.a, baseline: { name: 'raw KVM_RUN (koffi)', figure: raw }, ratio: figure([exit.a.median / raw.median]), target: '(informative)', met: true },
        pairedRow('exit round trip vs the libfuse 2 floor (/dev/fuse)', 'µs', libfuse, 'C libfuse 2 floor'),
      ];
    },
  },
  {
    key: 'no-io-uring',
    what: 'exit round trip of kvmfs --no-io-uring (/dev/fuse alone) vs the libfuse 2 floor, on the same transport',
    async measure(bench) {
      const { tools } = bench;
      const dir = join(work, 'kvmfs-dev-fuse');
      const daemon = startDaemon(dir, ['--run-timeout', '0', '--no-io-uring']);
      const run = `${makeVm(dir, 'vm0', EXIT_LOOP)}/vcpu0/run`;
      client(tools, 'pread', run, '500'); // warm up
      const measured = await paired(
        'exit round trip, kvmfs --no-io-uring (µs)', () => client(tools, 'pread', run, String(EXITS)) / 1000,
        'exit round trip, C libfuse 2 floor (µs)', () => client(tools, 'pread', `${bench.libfuseFloor}/run`, String(EXITS)) / 1000);
      await stop(daemon);
      return [pairedRow('exit round trip, --no-io-uring (/dev/fuse alone)', 'µs', measured, 'C libfuse 2 floor')];
    },
  },
  {
    key: 'scaling',
    what: 'exits/s of two vcpus vs one, and the same with raw KVM_RUN (the host\'s ceiling)',
    async measure(bench) {
      const pairVm = makeVm(bench.kvmfs, 'pair', EXIT_LOOP, 2);
      const perSecond = (nsPerExit: number) => 1e9 / nsPerExit;
      const exitsPerSecond = async (vcpus: number[]) => (await clientsTogether(bench.tools, vcpus.map((n) => ['pread', `${pairVm}/vcpu${n}/run`, String(EXITS)]))).map(perSecond).reduce((a, b) => a + b);
      const scaling = await paired('exits/s, 2 vcpus', () => exitsPerSecond([0, 1]), 'exits/s, 1 vcpu', () => exitsPerSecond([0]));
      const ceiling = await paired(
        'exits/s, raw KVM_RUN, 2 vcpus', () => rawExitsPerSecond(2, RAW_SCALING_MS),
        'exits/s, raw KVM_RUN, 1 vcpu', () => rawExitsPerSecond(1, RAW_SCALING_MS));
      return [
        pairedRow('scaling: exits/s, 2 vcpus vs 1', 'exits/s', scaling, '1 vcpu', atLeast(1.6)),
        pairedRow('scaling ceiling: raw KVM_RUN, 2 vcpus vs 1', 'exits/s', ceiling, '1 vcpu'),
      ];
    },
  },
  {
    key: 'stop',
    what: 'from a write of stop to the return of a read of run of a spinning guest',
    async measure(bench) {
      const spinVm = makeVm(bench.kvmfs, 'spin', SPIN);
      const latency = await repeat('stop latency (ms)', () => client(bench.tools, 'stop', `${spinVm}/vcpu0/run`, `${spinVm}/vcpu0/stop`) / 1e6);
      return [{ name: 'stop latency', unit: 'ms', kvmfs: latency, target: '< 10 ms', met: latency.median < 10 }];
    },
  },
];
