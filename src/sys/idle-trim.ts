// Memory back to the system once the daemon goes idle. Under load each
// thread's heap grows to what its garbage keeps it at, and glibc keeps
// freed native memory in its arenas; neither shrinks while the daemon
// sleeps. After IDLE_MS with no request, one full collection of the main
// thread's heap and malloc_trim(0) hand it back; a reader thread collects
// its own heap when its wait for a request times out (readers beyond the
// base set leave instead, and their heaps go with them).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mallocTrim } from './libc.js';

const IDLE_MS = 5000;

// gc() is exposed only to contexts made after the flag is set.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Collects this thread's heap and returns glibc's free memory to the system. */
function giveBack(): void {
  collect();
  mallocTrim(0);
}

/** A reader's: `idle()` when a wait for a request timed out gives memory back once per spell of work. */
export class IdleCollect {
  private dirty = false;

  served(): void {
    this.dirty = true;
  }

  idle(): void {
    if (!this.dirty) return;
    this.dirty = false;
    giveBack();
  }
}

export class IdleTrim {
  private lastRequest = 0;
  private trimmed = true;
  private readonly timer = setInterval(() => this.look(), IDLE_MS).unref();

  /** A request came: the next idle spell ends in a trim. */
  touch(): void {
    this.lastRequest = performance.now();
    this.trimmed = false;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private look(): void {
    if (this.trimmed || performance.now() - this.lastRequest < IDLE_MS) return;
    this.trimmed = true;
    giveBack();
  }
}
