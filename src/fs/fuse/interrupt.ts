// FUSE_INTERRUPT: the process whose request it names got a signal (Ctrl-C
// on `cat run`). A read that may last (a run) is ended early by its file
// (the vcpu is stopped, the read returns `intr`); any other request ends
// soon by itself. Not found yet (the reader has not marked its read): EAGAIN
// after a while, and the kernel sends the interrupt again while the
// request lasts.
import { errno } from '../errors.js';
import type { Filesystem } from './filesystem.js';
import { SLOT_HANDLE_BASE } from './open-table.js';
import { reply } from './replies.js';
import type { Registry } from './registry.js';

/** How long an interrupt whose request is not found waits before the kernel is asked to send it again. */
const INTERRUPT_RETRY_MS = 10;

/** `answer` gets undefined when the interrupt needs no reply (found: the read it names answers instead). */
export function interrupt(fs: Filesystem, registry: Registry, request: { unique: bigint; target: bigint }, answer: (reply: Uint8Array | undefined) => void): void {
  const slot = registry.table.findBlocked(request.target);
  if (slot === undefined) {
    setTimeout(() => answer(reply(request.unique, errno.EAGAIN)), INTERRUPT_RETRY_MS);
    return;
  }
  fs.interrupt(registry.handleOf(SLOT_HANDLE_BASE + slot));
  answer(undefined);
}
