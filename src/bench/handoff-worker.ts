// The two sides of the hand-off rows (handoff.ts), each a thread of its own
// that may be pinned to a CPU. The reader does what a ring reader does for
// every request it passes on (ring-worker.ts passOn): post it, wait in the
// ReplyBox. The server does what the session on the main thread does once
// it has the answer: deliver it. Nothing else happens in between.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { ReplyBox } from '../fs/fuse/reader-protocol.js';
import { pinToCpu } from '../fs/fuse/cpus.js';

interface Setup { role: 'reader' | 'server'; cpu?: number; port: MessagePort; replyBox: SharedArrayBuffer; count: number }
const { role, cpu, port, replyBox, count } = workerData as Setup;
if (cpu !== undefined) pinToCpu(cpu);
const box = new ReplyBox(replyBox);

if (role === 'server') {
  const answer = new Uint8Array(16 + 128); // fuse_out_header and fuse_entry_out: a LOOKUP's answer
  port.on('message', () => box.deliver(answer));
  parentPort!.postMessage('ready');
} else {
  const request = new Uint8Array(64); // a LOOKUP's size
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    port.postMessage(request);
    box.take();
  }
  parentPort!.postMessage(Number(process.hrtime.bigint() - started) / count / 1000);
}
