// A ring reader thread: pinned to one CPU, it owns one FUSE over io_uring
// entry on that CPU's queue (uring.ts), so the requests of callers on that
// CPU wake it there. It serves reads and writes of shared files on the spot
// (shared-files.ts: a `run` read is KVM_RUN on this thread) and passes every
// other request to the session on the main thread, waiting for the answer:
// only this thread's io_uring can commit it. A run or a passed request holds
// the thread; a queue whose readers all stay held starts another
// (FuseSession), so a request from any CPU always finds an entry soon.
import { parentPort, workerData } from 'node:worker_threads';
import { decodeHeader, decodeIoIn, IN_HEADER_SIZE, OUT_HEADER_SIZE, writeOutHeader } from './protocol.js';
import { isIo, SharedFiles } from './shared-files.js';
import { noRingReaderToSpare, queueSlot, ReplyBox, type ReaderMessage, type RingReaderSetup } from './reader-protocol.js';
import { NOT_INITIALIZED, pinToCpu, ringHeader, RingEntry, RingError, sessionEnded } from './uring.js';
import { toFsError } from '../errors.js';

const setup = workerData as RingReaderSetup;
const port = parentPort!;
/** How long to wait before offering the entry again when the kernel has not finished INIT yet. */
const NOT_READY_RETRY_MS = 1;
/** A run this long may have been let onto any CPU (RunWatchdog): pin the thread again after it. */
const LONG_RUN_MS = 5;

const queue = new Int32Array(setup.queues, setup.qid * queueSlot.count * 4, queueSlot.count);
const files = new SharedFiles(setup.openTable, setup.registrations, new Int32Array(setup.pool), port, setup.runTimeoutMs);
const replyBox = new ReplyBox(setup.replyBox);
pinToCpu(setup.qid);

/**
 * No ring here after all (io_uring refused to this process, say): the kernel
 * keeps sending requests to /dev/fuse until every queue has an entry, so
 * the mount goes on without rings. Tell the session, and end this thread.
 */
function unavailable(why: string): never {
  port.postMessage({ kind: 'ring-unavailable', message: why } satisfies ReaderMessage);
  process.exit(0);
}

const entry = (() => {
  try {
    return RingEntry.open(setup.fd, setup.qid, setup.payloadSize);
  } catch (error) {
    return unavailable((error as Error).message);
  }
})();
const header = new DataView(entry.header.buffer, entry.header.byteOffset, ringHeader.size);

/**
 * Counts this thread as held while `call` runs. A run may hold it for as
 * long as the guest runs: if it leaves no reader of the queue free, ask the
 * session for another (once until answered). A request passed to the main
 * thread ends by itself, soon, so it never asks.
 */
function held<T>(call: () => T, mayLast: boolean): T {
  Atomics.add(queue, queueSlot.busy, 1);
  if (mayLast && noRingReaderToSpare(queue) && Atomics.compareExchange(queue, queueSlot.asked, 0, 1) === 0) {
    port.postMessage({ kind: 'need-reader' } satisfies ReaderMessage);
  }
  try {
    return call();
  } finally {
    Atomics.sub(queue, queueSlot.busy, 1);
    Atomics.add(queue, queueSlot.released, 1);
  }
}

function aroundRun<T>(run: () => T): T {
  const started = performance.now();
  try {
    return held(run, true);
  } finally {
    if (performance.now() - started > LONG_RUN_MS) pinToCpu(setup.qid);
  }
}

/** The request as /dev/fuse would have given it: fuse_in_header, the op's header, then the payload. */
function wholeRequest(payloadLength: number): Uint8Array {
  const length = header.getUint32(ringHeader.inOut, true);
  const opInLength = Math.max(0, Math.min(ringHeader.entInOut - ringHeader.opIn, length - IN_HEADER_SIZE - payloadLength));
  const request = new Uint8Array(IN_HEADER_SIZE + opInLength + payloadLength);
  request.set(entry.header.subarray(ringHeader.inOut, ringHeader.inOut + IN_HEADER_SIZE));
  request.set(entry.header.subarray(ringHeader.opIn, ringHeader.opIn + opInLength), IN_HEADER_SIZE);
  request.set(entry.payload.subarray(0, payloadLength), IN_HEADER_SIZE + opInLength);
  return request;
}

/** Puts a success reply's header and payload length in place; the payload is already in entry.payload. */
function setReply(unique: bigint, payloadLength: number): void {
  writeOutHeader(entry.header, unique, 0, OUT_HEADER_SIZE + payloadLength);
  header.setUint32(ringHeader.payloadSize, payloadLength, true);
}

/** The main thread answers (a whole reply, in the ReplyBox); this reader commits it. */
function passOn(message: ReaderMessage): void {
  const reply = held(() => {
    port.postMessage(message);
    return replyBox.take();
  }, false);
  entry.header.set(reply.subarray(0, OUT_HEADER_SIZE), ringHeader.inOut);
  entry.payload.set(reply.subarray(OUT_HEADER_SIZE));
  header.setUint32(ringHeader.payloadSize, reply.length - OUT_HEADER_SIZE, true);
}

/** Answers the request in the entry; returns its unique, to commit the reply with. */
function answer(): bigint {
  const request = decodeHeader(entry.header);
  const payloadLength = header.getUint32(ringHeader.payloadSize, true);
  files.catchUp();
  if (isIo(request.opcode)) {
    const io = decodeIoIn(entry.header.subarray(ringHeader.opIn));
    try {
      const count = files.serve({ opcode: request.opcode, unique: request.unique, io, data: entry.payload.subarray(0, payloadLength) }, entry.payload, aroundRun);
      if (count !== undefined) {
        setReply(request.unique, count);
        return request.unique;
      }
    } catch (error) {
      // Recorded in last_error by the main thread, which then answers with the errno.
      const failure = toFsError(error);
      passOn({ kind: 'failed', request: wholeRequest(payloadLength), errno: failure.errno, message: failure.message });
      return request.unique;
    }
  }
  passOn(wholeRequest(payloadLength));
  return request.unique;
}

let result = entry.register(setup.poke);
while (result === NOT_INITIALIZED) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, NOT_READY_RETRY_MS);
  result = entry.register(setup.poke);
}
if (result < 0 && !sessionEnded(result)) {
  entry.close();
  unavailable(new RingError('FUSE_IO_URING_CMD_REGISTER', -result).message);
}
while (result === 0) result = entry.commitAndFetch(answer());
entry.close();
// Unmounted (or the daemon going): the kernel ends every entry so. Anything
// else is a bug: fail, and the session starts another reader for the queue.
if (!sessionEnded(result)) throw new RingError('FUSE ring command', -result);
port.close();
