// What a request kvmfs serves on its main thread pays for the hand-off
// alone: a worker posts it (waking the main thread's event loop), the main
// thread answers through a ReplyBox (Atomics.notify), the worker wakes. The
// same mechanism as a ring reader's passOn and the session's answer, with
// no FUSE and no serving: a part of every such request's cost.
import { Worker } from 'node:worker_threads';
import type { RowGroup } from './bench.js';
import { repeat } from './harness.js';
import { ReplyBox } from '../fs/fuse/reader-protocol.js';

const ROUND_TRIPS = 5000;
/** an answer of a LOOKUP's size: fuse_out_header and fuse_entry_out */
const ANSWER = new Uint8Array(16 + 128);

/** µs per round trip, over ROUND_TRIPS. */
function handoffRoundTrip(): Promise<number> {
  const box = ReplyBox.create(4096);
  const worker = new Worker(new URL('./handoff-worker.js', import.meta.url), { workerData: { replyBox: box.buffer, count: ROUND_TRIPS } });
  return new Promise((resolve, reject) => {
    worker.on('message', (message: Uint8Array | { usPerRoundTrip: number }) => {
      if (message instanceof Uint8Array) return box.deliver(ANSWER);
      resolve(message.usPerRoundTrip);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

export const handoffRows: RowGroup[] = [
  {
    key: 'handoff',
    what: 'a worker\'s request to the main thread and its answer (postMessage, ReplyBox), as a ring reader passes a request: no FUSE, no KVM',
    needsKvm: false,
    async measure() {
      const roundTrip = await repeat('hand-off to the main thread and back (µs)', handoffRoundTrip);
      return [{ name: 'hand-off to the main thread and back', unit: 'µs', kvmfs: roundTrip, target: '(informative)', met: true }];
    },
  },
];
