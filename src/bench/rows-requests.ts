// Rows about requests other than exits, each against the same request to
// the C server on FUSE over io_uring: a read of a 1-byte file, of a
// 450-byte text, a shell's open + read + close by path, a stat by path, and
// guest memory read and written in 1 MiB requests.
import type { RowGroup } from './bench.js';
import { atLeast, atMost, client, paired, pairedRow, shell } from './harness.js';

const READS = 5000;
/** open + read + close and stat: each several requests */
const PATH_OPS = 1000;
const MEMORY = 256 << 20;
/** the C floor's 450-byte text, as deep as kvmfs's vm0/vcpu0/regs */
const FLOOR_TEXT = 'vm0/vcpu0/text';

export const requestRows: RowGroup[] = [
  {
    key: 'null',
    what: 'pread of api_version (3 bytes) vs the C floor\'s 1-byte null',
    async measure(bench) {
      const { tools } = bench;
      const measured = await paired(
        'api_version pread, kvmfs (µs)', () => client(tools, 'pread', `${bench.kvmfs}/api_version`, String(READS)) / 1000,
        'null pread, C io_uring floor (µs)', () => client(tools, 'pread', `${bench.floor}/null`, String(READS)) / 1000);
      return [pairedRow('api_version pread', 'µs', measured, 'C null pread', atMost(1.5))];
    },
  },
  {
    key: 'regs',
    what: 'pread of regs vs the C floor\'s 450-byte text; and the first one after each exit',
    async measure(bench) {
      const { tools } = bench;
      const regs = `${bench.vm}/vcpu0/regs`;
      const text = `${bench.floor}/${FLOOR_TEXT}`;
      const again = await paired(
        'regs pread, kvmfs (µs)', () => client(tools, 'pread', regs, String(READS)) / 1000,
        'text pread, C io_uring floor (µs)', () => client(tools, 'pread', text, String(READS)) / 1000);
      // The row above reads an idle vcpu again and again: after the first read
      // its text is kept until the vcpu runs or is written. This one reads regs
      // once after each exit, so every read makes KVM_GET_REGS and renders.
      const afterRun = await paired(
        'regs pread after each exit, kvmfs (µs)', () => client(tools, 'pread-after-run', regs, String(READS / 5), `${bench.vm}/vcpu0/run`) / 1000,
        'text pread after each exit, C io_uring floor (µs)', () => client(tools, 'pread-after-run', text, String(READS / 5), `${bench.floor}/run`) / 1000);
      return [
        pairedRow('regs pread', 'µs', again, 'C 450-byte text pread', atMost(1.5)),
        pairedRow('regs pread, first after each exit', 'µs', afterRun, 'C text pread after each exit'),
      ];
    },
  },
  {
    key: 'open-read-close',
    what: 'open + read + close of vm0/vcpu0/regs by path (3 lookups, open, read, release) vs the same of the C floor\'s text',
    async measure(bench) {
      const { tools } = bench;
      const measured = await paired(
        'open+read+close vm0/vcpu0/regs, kvmfs (µs)', () => client(tools, 'open-read-close', `${bench.vm}/vcpu0/regs`, String(PATH_OPS)) / 1000,
        `open+read+close ${FLOOR_TEXT}, C io_uring floor (µs)`, () => client(tools, 'open-read-close', `${bench.floor}/${FLOOR_TEXT}`, String(PATH_OPS)) / 1000);
      return [pairedRow('open + read + close by path', 'µs', measured, 'C text by path', atMost(1.5))];
    },
  },
  {
    key: 'stat',
    what: 'stat of vm0/vcpu0/regs by path (3 lookups) vs the same of the C floor\'s text',
    async measure(bench) {
      const { tools } = bench;
      const measured = await paired(
        'stat vm0/vcpu0/regs, kvmfs (µs)', () => client(tools, 'stat', `${bench.vm}/vcpu0/regs`, String(PATH_OPS)) / 1000,
        `stat ${FLOOR_TEXT}, C io_uring floor (µs)`, () => client(tools, 'stat', `${bench.floor}/${FLOOR_TEXT}`, String(PATH_OPS)) / 1000);
      return [pairedRow('stat by path', 'µs', measured, 'C stat by path', atMost(1.5))];
    },
  },
  {
    key: 'memory',
    what: 'guest memory read and written in 1 MiB preads/pwrites vs the C floor\'s 256 MiB buffer',
    async measure(bench) {
      const { tools } = bench;
      // a VM of its own: the writes would overwrite vm0's exit loop
      const memory = `${bench.kvmfs}/memory-vm/memory`;
      shell(`mkdir "${bench.kvmfs}/memory-vm" && truncate -s ${MEMORY} "${memory}"`);
      // Untouched anonymous memory faults in on first use (a real page each on
      // this nested host, even for reads): pay that once, untimed, on both sides.
      client(tools, 'seqwrite', memory, String(MEMORY));
      client(tools, 'seqwrite', `${bench.floor}/mem`, String(MEMORY));
      const rows = [];
      for (const mode of ['seqread', 'seqwrite'] as const) {
        const measured = await paired(
          `memory ${mode}, kvmfs (MiB/s)`, () => client(tools, mode, memory, String(MEMORY)),
          `memory ${mode}, C io_uring floor (MiB/s)`, () => client(tools, mode, `${bench.floor}/mem`, String(MEMORY)));
        rows.push(pairedRow(`memory ${mode === 'seqread' ? 'read' : 'write'} (1 MiB ops)`, 'MiB/s', measured, 'C buffer', atLeast(0.8)));
      }
      return rows;
    },
  },
];
