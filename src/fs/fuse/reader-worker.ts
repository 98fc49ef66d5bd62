// A reader thread: takes requests through its transport (a /dev/fuse clone
// or a FUSE over io_uring entry), serves on the spot the reads and writes
// of files that can be served off the main thread (reader-files.ts: a `run`
// read is KVM_RUN on this thread, with no hand-off at all), and passes
// every other request to the session on the main thread.
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { toFsError } from '../errors.js';
import { ChannelTransport } from './channel-transport.js';
import { RingTransport } from './ring-transport.js';
import { ReaderFiles, type Attach } from './reader-files.js';
import { awaitRings, groupCounts, holdSlot, type ReaderMessage, type ReaderSetup } from './reader-protocol.js';
import { debugLine } from './protocol.js';
import type { Transport } from './transport.js';

const setup = workerData as ReaderSetup;
const port = parentPort!;
const { attach } = (await import(setup.offThreadModule)) as { attach: Attach };
const files = new ReaderFiles(setup, attach, port);
const counts = groupCounts(setup.counts, setup.group);
/** who served a request, in --debug lines */
const readerName = setup.transport.kind === 'ring' ? `ring reader, CPU ${setup.transport.qid}` : `/dev/fuse reader ${setup.transport.id}`;
if (setup.transport.kind === 'ring' && !awaitRings(setup.session)) {
  // INIT settled without rings (or the session closed first): never needed.
  Atomics.sub(counts, holdSlot.readers, 1);
  port.postMessage({ kind: 'retired' } satisfies ReaderMessage);
  process.exit(0);
}
const transport: Transport = setup.transport.kind === 'channel'
  ? new ChannelTransport(setup.transport, setup.session, counts, port, setup.keep)
  : RingTransport.open(setup.transport, counts, port, setup.keep);

for (let request = transport.next(); request; request = transport.next()) {
  files.catchUp();
  let count: number | undefined;
  try {
    count = files.serve(request, transport);
  } catch (error) {
    // A request left unanswered would hang its caller forever: whatever went
    // wrong, it gets an errno (and last_error a line), and this reader goes on.
    const failure = toFsError(error);
    if (setup.debug) writeSync(2, debugLine(request, `${readerName}: ${failure.message}`));
    transport.pass({ errno: failure.errno, message: failure.message });
    continue;
  }
  if (count === undefined) {
    transport.pass(); // (the main thread prints it)
    continue;
  }
  // (written at once: a worker's process.stderr is flushed by its event loop, which this loop never yields to)
  if (setup.debug) writeSync(2, debugLine(request, readerName));
  transport.reply(count);
}
transport.close();
port.postMessage((transport.retired ? { kind: 'retired' } : { kind: 'ended' }) satisfies ReaderMessage);
port.close();
