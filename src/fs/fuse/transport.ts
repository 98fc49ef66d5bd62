// How a reader thread takes requests and answers them: one interface, two
// adapters (channel-transport.ts: a clone of /dev/fuse; ring-transport.ts:
// a FUSE over io_uring entry), one serve loop (reader-worker.ts).
import type { FuseRequest } from './protocol.js';

export interface Transport {
  /**
   * The next request, decoded; undefined once the session ended, or once
   * this reader, idle, left its group (`retired`). A ring entry commits the
   * reply to the request before in the same call.
   */
  next(): FuseRequest | undefined;
  readonly retired: boolean;
  /** Where the payload of a reply to the current request goes, before reply(). */
  readonly payload: Uint8Array;
  /** Answers the current request: success, with `length` bytes of payload. */
  reply(length: number): void;
  /**
   * Hands the current request to the main thread, which answers it. With
   * `failure`, the request was served here and failed: the main thread
   * records why (last_error) and answers with the errno.
   */
  pass(failure?: { errno: number; message: string }): void;
  /** Runs `call`, a read that may last (a run), with this reader counted as held meanwhile. */
  hold<T>(call: () => T): T;
  close(): void;
}
