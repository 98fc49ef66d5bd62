// The files a reader thread serves itself: reads of files with offThread
// open on a slot of the OpenTable, and writes of such block files (memory).
// Each file is built on this thread by the module the session names
// (files/off-thread.ts: the same code the main thread's tree runs), and read
// and written by the same rules (open-file.ts). A read that may last (a
// run) holds the reader, and its slot is marked so FUSE_INTERRUPT finds it.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { PseudoFile } from '../node.js';
import { readOpenFile, writeOpenFile } from '../open-file.js';
import { OpenTable, SLOT_HANDLE_BASE } from './open-table.js';
import type { FuseRequest } from './protocol.js';
import { writeOut } from './replies.js';
import { sessionSlot, type ReaderSetup, type Registration } from './reader-protocol.js';
import type { Transport } from './transport.js';

/** What the off-thread module exports: the file `factory` builds from `share`. */
export type Attach = (factory: string, share: unknown) => PseudoFile;

/** Writes of a block file take any offset: no write cursor to keep. */
const ANY_OFFSET = { end: 0 };

export class ReaderFiles {
  private readonly table: OpenTable;
  private readonly session: Int32Array;
  private readonly files = new Map<number, PseudoFile>();
  private registrySeen = 0;

  constructor(setup: ReaderSetup, private readonly attach: Attach, private readonly port: MessagePort) {
    this.table = new OpenTable(setup.openTable);
    this.session = new Int32Array(setup.session);
    for (const registration of setup.registrations) this.register(registration);
  }

  /** Registrations made or dropped since this reader last looked (sent before the OPEN reply that named them). */
  catchUp(): void {
    if (Atomics.load(this.session, sessionSlot.registry) === this.registrySeen) return;
    this.registrySeen = Atomics.load(this.session, sessionSlot.registry);
    for (let message = receiveMessageOnPort(this.port); message; message = receiveMessageOnPort(this.port)) this.register(message.message as Registration);
  }

  /**
   * Serves `request` if it is a read, or a block file's write, of a slot's
   * file: returns the reply payload's length, written to `transport.payload`;
   * undefined to pass the request to the main thread. A failure is thrown,
   * for the main thread to record and answer.
   */
  serve(request: FuseRequest, transport: Transport): number | undefined {
    if ((request.op !== 'READ' && request.op !== 'WRITE') || request.fh < SLOT_HANDLE_BASE) return undefined;
    const slot = request.fh - SLOT_HANDLE_BASE;
    const file = this.attached(this.table.key(slot));
    if (!file) return undefined;
    if (request.op === 'WRITE') {
      if (file.kind !== 'block') return undefined;
      const out = writeOut(done(writeOpenFile(file, ANY_OFFSET, request.data, request.offset)));
      transport.payload.set(out);
      return out.length;
    }
    const read = () => done(readOpenFile(file, this.table.snapshot(slot), request.offset, transport.payload.subarray(0, request.size)));
    if (file.kind === 'block' || !file.interrupt) return read();
    return transport.hold(() => {
      this.table.setBlocked(slot, request.unique);
      try {
        return read();
      } finally {
        this.table.setBlocked(slot, undefined);
      }
    });
  }

  private register({ key, file }: Registration): void {
    if (!file) this.files.delete(key);
    else if (!this.files.has(key)) this.files.set(key, this.attach(file.factory, file.share));
  }

  /** The file of `key`, registered perhaps only just now. */
  private attached(key: number): PseudoFile | undefined {
    if (!this.files.has(key)) this.catchUp();
    return this.files.get(key);
  }
}

/** Files served off the main thread answer at once: a promise here is a bug in the file. */
function done(count: number | Promise<number>): number {
  if (typeof count !== 'number') throw new Error('a file served off the main thread must not return a promise');
  return count;
}
