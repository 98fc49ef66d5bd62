// A reader thread: while it is the listener (listener.ts), reads its clone
// of the channel and serves each request on the spot when it is a read or
// write of a shared file (run, regs, memory): a `run` read is one KVM_RUN
// on this thread, with no thread hand-off at all. Every other request goes
// to the session on the main thread. A reader held by a long run is
// overtaken by the deputy, and one is started whenever all but one are held
// by runs, so N vcpus that run long run on N threads.
import { parentPort, workerData } from 'node:worker_threads';
import { ChannelError, readRequest, writeReply } from './channel.js';
import { decodeHeader, decodeIoIn, IN_HEADER_SIZE, IO_IN_SIZE, OUT_HEADER_SIZE, writeOutHeader } from './protocol.js';
import { Listener } from './listener.js';
import { SharedFiles, isIo } from './shared-files.js';
import { noReaderToSpare, pool, type ReaderMessage, type ReaderSetup } from './reader-protocol.js';
import { toFsError } from '../errors.js';

const setup = workerData as ReaderSetup;
/**
 * How long a reader polls its channel after serving a request before it
 * sleeps: the next read of a `run` loop or a dd usually comes within this,
 * and is then served with no wake-up, on the thread where the vcpu is loaded.
 */
const READ_POLL_NS = 100_000n;
const port = parentPort!;
const poolSlots = new Int32Array(setup.pool);
const listener = new Listener(poolSlots, pool.listener);
const files = new SharedFiles(setup.openTable, setup.registrations, poolSlots, port, setup.runTimeoutMs);
const request = new Uint8Array(setup.bufferSize);
const reply = Buffer.alloc(setup.bufferSize + OUT_HEADER_SIZE);
const payload = reply.subarray(OUT_HEADER_SIZE);

/** A run holds this thread for as long as the guest runs: make sure another reader is free meanwhile, and let the deputy watch it. */
function aroundRun<T>(call: () => T): T {
  Atomics.add(poolSlots, pool.busy, 1);
  if (noReaderToSpare(poolSlots)) port.postMessage({ kind: 'need-reader' } satisfies ReaderMessage);
  const run = listener.runStarted();
  try {
    return call();
  } finally {
    listener.runEnded(run);
    Atomics.sub(poolSlots, pool.busy, 1);
  }
}

/** Serves a read or write of a slot's file; false to pass the request to the main thread instead. */
function serve(length: number): boolean {
  const header = decodeHeader(request);
  if (!isIo(header.opcode)) return false;
  const body = request.subarray(IN_HEADER_SIZE, length);
  const io = decodeIoIn(body);
  const count = files.serve({ opcode: header.opcode, unique: header.unique, io, data: body.subarray(IO_IN_SIZE) }, payload, aroundRun);
  if (count === undefined) return false;
  writeOutHeader(reply, header.unique, 0, OUT_HEADER_SIZE + count);
  writeReply(setup.fd, reply.subarray(0, OUT_HEADER_SIZE + count));
  return true;
}

/** The kernel ended the session (unmounted): tell the main thread. */
function ended(error: unknown): void {
  port.postMessage({ kind: 'ended', errno: error instanceof ChannelError ? error.errno : 0 } satisfies ReaderMessage);
}

for (;;) {
  if (!listener.holds(setup.id)) listener.awaitTurn(setup.id, setup.fd);
  let length: number;
  try {
    length = readRequest(setup.fd, request, READ_POLL_NS);
  } catch (error) {
    ended(error);
    break;
  }
  files.catchUp();
  let served: boolean;
  try {
    served = serve(length);
  } catch (error) {
    if (error instanceof ChannelError) {
      ended(error);
      break;
    }
    // A request left unanswered would hang its caller forever: whatever went
    // wrong, it gets an errno (and last_error a line), and this reader goes on.
    const failure = toFsError(error);
    port.postMessage({ kind: 'failed', request: request.slice(0, length), errno: failure.errno, message: failure.message } satisfies ReaderMessage);
    continue;
  }
  if (served) continue;
  const forwarded = request.slice(0, length);
  port.postMessage(forwarded, [forwarded.buffer]);
}
