// The reader's side of the hand-off row (handoff.ts): what a ring reader
// does for every request it passes to the main thread (ring-worker.ts
// passOn), with no request behind it: post it, wait in the ReplyBox.
import { parentPort, workerData } from 'node:worker_threads';
import { ReplyBox } from '../fs/fuse/reader-protocol.js';

const { replyBox, count } = workerData as { replyBox: SharedArrayBuffer; count: number };
const box = new ReplyBox(replyBox);
const request = new Uint8Array(64); // a LOOKUP's size
const started = process.hrtime.bigint();
for (let i = 0; i < count; i++) {
  parentPort!.postMessage(request);
  box.take();
}
parentPort!.postMessage({ usPerRoundTrip: Number(process.hrtime.bigint() - started) / count / 1000 });
