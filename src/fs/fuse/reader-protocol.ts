// What reader threads and the session on the main thread say to each other.
import type { SharedFile } from '../node.js';
import { LISTENER_FIELDS } from './listener.js';

/** A shared object (a vcpu, a VM's memory) readers may attach to, by key; without `shared`, the key is gone. */
export interface Registration {
  key: number;
  shared?: SharedFile;
}

export interface ReaderSetup {
  /** this reader's number (> 0), for the Listener */
  id: number;
  /** this reader's clone of the channel */
  fd: number;
  bufferSize: number;
  /** --run-timeout, for the runs readers make */
  runTimeoutMs: number;
  /** OpenTable's buffer */
  openTable: SharedArrayBuffer;
  /** Int32 slots: pool.readers, pool.busy, pool.registry (bumped after each message about registrations), then the Listener's */
  pool: SharedArrayBuffer;
  /** every registration so far; later ones arrive as messages */
  registrations: Registration[];
}

export const pool = { readers: 0, busy: 1, registry: 2, listener: 3, count: 3 + LISTENER_FIELDS } as const;

/** Whether every reader is held by a run: then another should start, so that one is always free to listen (and be the deputy). */
export function noReaderToSpare(slots: Int32Array): boolean {
  return Atomics.load(slots, pool.readers) - Atomics.load(slots, pool.busy) < 1;
}

export type ReaderMessage =
  /** a request for the main thread to serve */
  | Uint8Array
  /** a request the reader served and that failed: the main thread records why (last_error) and replies */
  | { kind: 'failed'; request: Uint8Array; errno: number; message: string }
  /** every reader but this one is busy with a run: start another */
  | { kind: 'need-reader' }
  /** the kernel ended the session (unmounted) */
  | { kind: 'ended'; errno: number };
