// What a reader thread and the session on the main thread say to each other.

export interface ReaderSetup {
  /** the channel fd */
  fd: number;
  bufferSize: number;
}

/** A request the reader does not serve itself (its bytes), or the end of the session. */
export type ReaderMessage = Uint8Array | { ended: true; errno: number };
