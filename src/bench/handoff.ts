// What a request kvmfs serves on its main thread pays for the hand-off
// alone: a reader thread posts it (waking the other thread's event loop),
// the other thread answers through a ReplyBox (Atomics.notify), the reader
// wakes. The same mechanism as a ring reader's passOn and the session's
// answer, with no FUSE and no serving. Measured with both threads on one
// CPU, on two, and as kvmfs places them: the reader pinned, the other free.
import { once } from 'node:events';
import { cpus } from 'node:os';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { RowGroup } from './bench.js';
import { log, paired, pairedRow, repeat, type Row } from './harness.js';
import { ReplyBox } from '../fs/fuse/reader-protocol.js';

const ROUND_TRIPS = 1000;

/** µs per round trip between a reader on `readerCpu` and a server on `serverCpu` (undefined: not pinned). */
async function roundTrip(readerCpu: number | undefined, serverCpu: number | undefined): Promise<number> {
  const { port1, port2 } = new MessageChannel();
  const replyBox = ReplyBox.create(4096).buffer;
  const start = (role: string, cpu: number | undefined, port: typeof port1) =>
    new Worker(new URL('./handoff-worker.js', import.meta.url), { workerData: { role, cpu, port, replyBox, count: ROUND_TRIPS }, transferList: [port] });
  const server = start('server', serverCpu, port2);
  await once(server, 'message');
  const reader = start('reader', readerCpu, port1);
  const [us] = await once(reader, 'message') as [number];
  await Promise.all([server.terminate(), reader.terminate()]);
  return us;
}

export const handoffRows: RowGroup[] = [
  {
    key: 'handoff',
    what: 'a request handed to another thread and answered (postMessage, ReplyBox), as a ring reader passes one to the main thread: no FUSE, no KVM',
    needsKvm: false,
    async measure() {
      const rows: Row[] = [];
      const asKvmfs = await repeat('hand-off, reader pinned to CPU 0, the other thread free (µs)', () => roundTrip(0, undefined));
      rows.push({ name: 'hand-off and back, reader pinned (as kvmfs)', unit: 'µs', kvmfs: asKvmfs, target: '(informative)', met: true });
      if (cpus().length < 2) {
        log('hand-off across CPUs: one CPU only, not measured');
        return rows;
      }
      const across = await paired('hand-off, threads on CPUs 0 and 1 (µs)', () => roundTrip(0, 1), 'hand-off, both on CPU 0 (µs)', () => roundTrip(0, 0));
      rows.push(pairedRow('hand-off and back, across CPUs vs on one', 'µs', across, 'both on one CPU'));
      return rows;
    },
  },
];
