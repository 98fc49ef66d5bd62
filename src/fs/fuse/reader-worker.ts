// A reader thread: while it is the listener (listener.ts), reads its clone
// of the channel and serves each request on the spot when it is a read or
// write of a shared file (run, regs, memory): a `run` read is one KVM_RUN
// on this thread, with no thread hand-off at all. Every other request goes
// to the session on the main thread. A reader held by a long run is
// overtaken by the deputy, and one is started whenever all but one are held
// by runs, so N vcpus that run long run on N threads.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { ChannelError, readRequest, writeReply } from './channel.js';
import { decodeHeader, decodeIoIn, IN_HEADER_SIZE, IO_IN_SIZE, opcode, OUT_HEADER_SIZE, writeOut, writeOutHeader } from './protocol.js';
import { OpenTable, SLOT_HANDLE_BASE } from './open-table.js';
import { Listener } from './listener.js';
import { noReaderToSpare, pool, type ReaderMessage, type ReaderSetup, type Registration } from './reader-protocol.js';
import { toFsError } from '../errors.js';
import { renderExit } from '../format/exit.js';
import { renderRegs } from '../format/regs.js';
import { SharedVcpu } from '../../backend/shared-vcpu.js';
import { GuestMemoryView } from '../../backend/guest-memory.js';

const setup = workerData as ReaderSetup;
/**
 * How long a reader polls its channel after serving a request before it
 * sleeps: the next read of a `run` loop or a dd usually comes within this,
 * and is then served with no wake-up, on the thread where the vcpu is loaded.
 */
const READ_POLL_NS = 100_000n;
const port = parentPort!;
const table = new OpenTable(setup.openTable);
const poolSlots = new Int32Array(setup.pool);
const listener = new Listener(poolSlots, pool.listener);
const request = new Uint8Array(setup.bufferSize);
const reply = Buffer.alloc(setup.bufferSize + OUT_HEADER_SIZE);
const vcpus = new Map<number, SharedVcpu>();
const memories = new Map<number, GuestMemoryView>();
/** Each vcpu's regs text as last rendered, and the vcpu's state version then. */
const renderedRegs = new Map<number, { version: number; text: Uint8Array }>();

function register({ key, shared }: Registration): void {
  if (!shared) {
    memories.delete(key);
    vcpus.delete(key);
    renderedRegs.delete(key);
  } else if (shared.kind === 'memory') {
    memories.set(key, new GuestMemoryView(shared.memory));
  } else if (!vcpus.has(key)) {
    vcpus.set(key, new SharedVcpu(shared.vcpu));
  }
}

let registrySeen = 0;

/** Registrations made or dropped since this reader last looked (sent before the OPEN reply that named them). */
function catchUp(): void {
  registrySeen = Atomics.load(poolSlots, pool.registry);
  for (let message = receiveMessageOnPort(port); message; message = receiveMessageOnPort(port)) register(message.message as Registration);
}

function send(unique: bigint, error: number, payloadLength: number): void {
  writeOutHeader(reply, unique, error, OUT_HEADER_SIZE + payloadLength);
  writeReply(setup.fd, reply.subarray(0, OUT_HEADER_SIZE + payloadLength));
}

/** A run holds this thread for as long as the guest runs: make sure another reader is free meanwhile. */
function blocking<T>(call: () => T): T {
  Atomics.add(poolSlots, pool.busy, 1);
  if (noReaderToSpare(poolSlots)) port.postMessage({ kind: 'need-reader' } satisfies ReaderMessage);
  try {
    return call();
  } finally {
    Atomics.sub(poolSlots, pool.busy, 1);
  }
}

/** A read at offset 0 renders a fresh snapshot; reads past 0 continue it. */
function readSnapshot(slot: number, offset: number, size: number, render: () => Uint8Array): number {
  const target = reply.subarray(OUT_HEADER_SIZE, OUT_HEADER_SIZE + size);
  if (offset !== 0) return table.readSnapshot(slot, offset, target);
  const content = render();
  table.storeSnapshot(slot, content);
  const length = Math.min(content.length, size);
  target.set(content.subarray(0, length));
  return length;
}

/**
 * KVM_GET_REGS, rendered; rendered once per state version: the registers
 * of an idle vcpu change only when it runs or they are written.
 */
function regsText(key: number, vcpu: SharedVcpu): Uint8Array {
  const version = vcpu.stateVersion;
  const rendered = renderedRegs.get(key);
  if (rendered && rendered.version === version) return rendered.text;
  const text = Buffer.from(renderRegs(vcpu.getRegs()));
  if (version !== undefined) renderedRegs.set(key, { version, text });
  return text;
}

/** Serves a read or write of a slot's file; false to pass the request to the main thread instead. */
function serve(length: number): boolean {
  const header = decodeHeader(request);
  if (header.opcode !== opcode.READ && header.opcode !== opcode.WRITE) return false;
  const body = request.subarray(IN_HEADER_SIZE, length);
  const io = decodeIoIn(body);
  if (io.fh < SLOT_HANDLE_BASE) return false;
  const slot = io.fh - SLOT_HANDLE_BASE;
  const kind = table.kind(slot);
  const key = table.key(slot);
  if (kind === 'memory') {
    let memory = memories.get(key);
    if (!memory) { catchUp(); memory = memories.get(key); }
    if (!memory) return false;
    if (header.opcode === opcode.WRITE) {
      // past the end: the main thread fails it with ENOSPC and says why
      if (!memory.write(io.offset, body.subarray(IO_IN_SIZE, IO_IN_SIZE + io.size))) return false;
      reply.set(writeOut(io.size), OUT_HEADER_SIZE);
      send(header.unique, 0, 8);
      return true;
    }
    send(header.unique, 0, memory.read(io.offset, reply.subarray(OUT_HEADER_SIZE, OUT_HEADER_SIZE + io.size)));
    return true;
  }
  if (header.opcode !== opcode.READ || (kind !== 'run' && kind !== 'regs')) return false;
  let vcpu = vcpus.get(key);
  if (!vcpu) { catchUp(); vcpu = vcpus.get(key); }
  if (!vcpu) return false;
  const target = vcpu;
  // A failure (KVM's errno, EBUSY for a second reader) is thrown to the loop,
  // which has the main thread record it in last_error and answer.
  const count = kind === 'run'
    ? readSnapshot(slot, io.offset, io.size, () => blocking(() => {
      table.setRun(slot, header.unique); // so that an interrupt (Ctrl-C) finds it and stops the vcpu
      const run = listener.runStarted();
      try {
        return Buffer.from(renderExit(target.run(setup.runTimeoutMs)));
      } finally {
        listener.runEnded(run);
        table.setRun(slot, undefined);
      }
    }))
    : readSnapshot(slot, io.offset, io.size, () => regsText(key, target));
  send(header.unique, 0, count);
  return true;
}

/** The kernel ended the session (unmounted): tell the main thread. */
function ended(error: unknown): void {
  port.postMessage({ kind: 'ended', errno: error instanceof ChannelError ? error.errno : 0 } satisfies ReaderMessage);
}

for (const registration of setup.registrations) register(registration);
for (;;) {
  if (!listener.holds(setup.id)) listener.awaitTurn(setup.id, setup.fd);
  let length: number;
  try {
    length = readRequest(setup.fd, request, READ_POLL_NS);
  } catch (error) {
    ended(error);
    break;
  }
  if (Atomics.load(poolSlots, pool.registry) !== registrySeen) catchUp();
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
