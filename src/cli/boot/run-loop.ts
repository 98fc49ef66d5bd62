// Runs vcpu0 until the guest writes to the shutdown port, printing the
// console as it grows. Each read of `run` at offset 0 is one KVM_RUN (the
// console's port writes never come back from it); the reads go through
// libuv's thread pool, so this thread meanwhile follows `console` as
// `tail -f` does: fstat, then read what is new.
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** What the console keeps (docs/interface.md, console): further behind than this, the bytes are gone. */
const CONSOLE_KEPT = 1 << 20;
/** How often the console is looked at while the guest runs. */
const CONSOLE_POLL_MS = 20;
const RUN_LINE_MAX = 4096;

export interface RunOptions {
  vm: string;
  shutdownPort: number;
  /** where the console goes (stdout) */
  output: (bytes: Uint8Array) => void;
  /** notes for people (stderr) */
  note: (text: string) => void;
}

/** How the guest ended: the status it wrote to the shutdown port, or the exit line it stopped on. */
export type Ending = { kind: 'shutdown'; status: number } | { kind: 'stopped'; exit: string };

class ConsoleFollower {
  private offset = 0;
  private readonly buffer = Buffer.alloc(64 * 1024);

  constructor(private readonly file: FileHandle, private readonly options: RunOptions) {}

  /** Prints what was written since the last look. */
  async catchUp(): Promise<void> {
    const { size } = await this.file.stat();
    if (size - this.offset > CONSOLE_KEPT) {
      this.options.note(`(${size - CONSOLE_KEPT - this.offset} bytes of console output were overwritten before they could be printed)`);
      this.offset = size - CONSOLE_KEPT;
    }
    while (this.offset < size) {
      const { bytesRead } = await this.file.read(this.buffer, 0, Math.min(this.buffer.length, size - this.offset), this.offset);
      if (bytesRead === 0) break;
      this.options.output(this.buffer.subarray(0, bytesRead));
      this.offset += bytesRead;
    }
  }
}

const SHUTDOWN_EXIT = /^io out port=(0x[0-9a-f]{4}) size=\d+ count=\d+ data=(0x[0-9a-f]+)/;

/** The next exit that is not `intr` (the run time limit) or a write to another port (ignored, as on an empty ISA bus). */
async function nextExit(run: FileHandle, shutdownPort: number): Promise<Ending> {
  const line = Buffer.alloc(RUN_LINE_MAX);
  for (;;) {
    const { bytesRead } = await run.read(line, 0, line.length, 0);
    const exit = line.subarray(0, bytesRead).toString().trim();
    if (exit === 'intr') continue;
    const io = SHUTDOWN_EXIT.exec(exit);
    if (io) {
      if (Number(io[1]) === shutdownPort) return { kind: 'shutdown', status: Number(BigInt(io[2]!) & 0xffn) };
      continue;
    }
    // io in (reads 0 on the next run, as on the bus above) goes on; anything else ends the boot
    if (exit.startsWith('io in ')) continue;
    return { kind: 'stopped', exit };
  }
}

export async function runUntilShutdown(options: RunOptions): Promise<Ending> {
  const run = await open(join(options.vm, 'vcpu0', 'run'), 'r');
  const consoleFile = await open(join(options.vm, 'console'), 'r');
  const follower = new ConsoleFollower(consoleFile, options);
  let following = true;
  const follow = (async () => {
    while (following) {
      await follower.catchUp();
      await new Promise((resolve) => setTimeout(resolve, CONSOLE_POLL_MS));
    }
  })();
  try {
    return await nextExit(run, options.shutdownPort);
  } finally {
    following = false;
    await follow;
    await follower.catchUp();
    await Promise.all([run.close(), consoleFile.close()]);
  }
}
