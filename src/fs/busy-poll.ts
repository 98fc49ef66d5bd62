// Keeps the event loop polling for a short while after each FUSE operation.
// Reader threads hand the operations they do not serve themselves (lookups,
// opens, attributes, text writes) to the JS main thread through the event
// loop; an idle loop sleeps in epoll_wait, and waking a sleeping thread on
// these machines costs more than a guest exit. While operations keep
// coming (a shell loop of `cat`s, `ls -l`), a loop that never sleeps notices
// the next one within a microsecond or two. After `windowMs` without an
// operation it goes back to sleeping, so an idle mount costs no CPU.
export class BusyPoll {
  private until = 0;
  private polling = false;

  constructor(private readonly windowMs: number) {}

  /** Called on every operation: (re)opens the polling window. */
  touch(): void {
    if (this.windowMs <= 0) return;
    this.until = performance.now() + this.windowMs;
    if (!this.polling) {
      this.polling = true;
      setImmediate(this.tick);
    }
  }

  private readonly tick = (): void => {
    if (performance.now() < this.until) setImmediate(this.tick);
    else this.polling = false;
  };
}
