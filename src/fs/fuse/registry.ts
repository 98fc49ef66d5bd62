// The files reader threads know, on the main thread: each file with
// offThread gets a key the first time it is opened (every reader is told,
// before the OPEN reply that names it), and each open of it a slot in the
// OpenTable, whose handle tells the readers to serve it themselves. A key
// is dropped once its object is gone (its VM destroyed) and no slot uses it.
import { errno, FsError } from '../errors.js';
import type { OffThread } from '../node.js';
import { OpenTable, SLOT_HANDLE_BASE } from './open-table.js';
import type { Registration } from './reader-protocol.js';

/**
 * How long an OPEN that needs a slot and finds none waits for a RELEASE:
 * close(2) returns before the kernel sends the RELEASE that frees the slot,
 * so a program that closes one file and opens another would otherwise get
 * ENFILE now and then.
 */
const RELEASE_WAIT_MS = 200;

interface Registered {
  key: number;
  offThread: OffThread;
  /** open slots of the key */
  slots: number;
}

export class Registry {
  readonly table = new OpenTable();
  private readonly byFile = new Map<OffThread, Registered>();
  private readonly byKey = new Map<number, Registered>();
  /** the file system's handle of each slot in use */
  private readonly slotHandles = new Map<number, number>();
  private nextKey = 1;
  /** OPENs waiting for a slot to be released */
  private readonly waiting = new Set<() => void>();

  /** `tell` reaches every reader (queued before any reply the main thread writes after it). */
  constructor(private readonly tell: (registration: Registration) => void) {}

  /** Every registration so far, for a reader that starts now. */
  registrations(): Registration[] {
    return [...this.byKey.values()].map(({ key, offThread }) => ({ key, file: sent(offThread) }));
  }

  /**
   * OPEN: the FUSE file handle of the file system's `handle`: a slot's if
   * the file is served off the main thread, else `handle` itself. A file
   * whose read may last (`required`: run) cannot do without a slot: ENFILE.
   */
  open(handle: number, offThread: OffThread | undefined, required: boolean): number {
    if (!offThread) return handle;
    const registered = this.register(offThread);
    const slot = this.table.allocate(registered.key);
    if (slot === undefined) {
      if (required) throw new FsError(errno.ENFILE, 'too many open files served by reader threads in this mount');
      return handle;
    }
    this.slotHandles.set(slot, handle);
    registered.slots++;
    return SLOT_HANDLE_BASE + slot;
  }

  /** As open, but an OPEN that needs a slot and finds none waits up to RELEASE_WAIT_MS for one. */
  async openWaiting(handle: number, offThread: OffThread | undefined, required: boolean): Promise<number> {
    const deadline = performance.now() + RELEASE_WAIT_MS;
    for (;;) {
      try {
        return this.open(handle, offThread, required);
      } catch (error) {
        const left = deadline - performance.now();
        if (!(error instanceof FsError) || error.errno !== errno.ENFILE || left <= 0) throw error;
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            this.waiting.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, left);
          this.waiting.add(wake);
        });
      }
    }
  }

  /** The file system's handle of a FUSE file handle. */
  handleOf(fh: number): number {
    return fh >= SLOT_HANDLE_BASE ? (this.slotHandles.get(fh - SLOT_HANDLE_BASE) ?? 0) : fh;
  }

  /** RELEASE of a FUSE file handle: its slot is free again. */
  release(fh: number): void {
    if (fh < SLOT_HANDLE_BASE) return;
    const slot = fh - SLOT_HANDLE_BASE;
    const registered = this.byKey.get(this.table.key(slot));
    this.slotHandles.delete(slot);
    this.table.release(slot);
    for (const wake of this.waiting) wake();
    if (!registered) return;
    registered.slots--;
    this.forgetIfGone(registered);
  }

  /** The file system's handles of the open files with a read in progress that may last. */
  blockedHandles(): number[] {
    return this.table.blockedSlots().map((slot) => this.handleOf(SLOT_HANDLE_BASE + slot));
  }

  /** After an RMDIR: drops every key whose object went with it. */
  sweep(): void {
    for (const registered of [...this.byKey.values()]) this.forgetIfGone(registered);
  }

  private register(offThread: OffThread): Registered {
    let registered = this.byFile.get(offThread);
    if (!registered) {
      registered = { key: this.nextKey++, offThread, slots: 0 };
      this.byFile.set(offThread, registered);
      this.byKey.set(registered.key, registered);
      this.tell({ key: registered.key, file: sent(offThread) });
    }
    return registered;
  }

  private forgetIfGone(registered: Registered): void {
    if (registered.slots > 0 || !registered.offThread.gone()) return;
    this.byKey.delete(registered.key);
    this.byFile.delete(registered.offThread);
    this.tell({ key: registered.key });
  }
}

/** What a reader is sent of a file: structured-clonable, without `gone`. */
function sent({ factory, share }: OffThread): { factory: string; share: unknown } {
  return { factory, share };
}
