// A reader thread: waits on the channel for the next request and passes it
// to the session on the main thread. Several readers wait at once, so a
// request that blocks (a `run` read) never holds up the others.
import { parentPort, workerData } from 'node:worker_threads';
import { ChannelError, readRequest } from './channel.js';
import type { ReaderMessage, ReaderSetup } from './reader-protocol.js';

const setup = workerData as ReaderSetup;
const buffer = new Uint8Array(setup.bufferSize);

for (;;) {
  let length: number;
  try {
    length = readRequest(setup.fd, buffer);
  } catch (error) {
    parentPort!.postMessage({ ended: true, errno: error instanceof ChannelError ? error.errno : 0 } satisfies ReaderMessage);
    break;
  }
  const request = buffer.slice(0, length);
  parentPort!.postMessage(request, [request.buffer]);
}
