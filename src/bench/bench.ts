// The mounts a bench run measures, each started on first use, so a run of
// selected rows (--only) starts only what they need.
import { join } from 'node:path';
import { EXIT_LOOP, makeVm, startDaemon, startServer, startUringFloor, waitForMount, work, type Row } from './harness.js';
import type { NativeTools } from './native.js';

export class Bench {
  private mounted = new Map<string, string>();

  constructor(readonly tools: NativeTools) {}

  private once(key: string, start: () => string): string {
    let dir = this.mounted.get(key);
    if (dir === undefined) this.mounted.set(key, (dir = start()));
    return dir;
  }

  /** kvmfs on FUSE over io_uring, with no run time limit (the exit loops run as long as they are read) */
  get kvmfs(): string {
    return this.once('kvmfs', () => {
      const dir = join(work, 'kvmfs');
      startDaemon(dir, ['--run-timeout', '0']);
      return dir;
    });
  }

  /** vm0 on kvmfs: one vcpu in the exit loop, so vm0/vcpu0/regs is where the issue reads it */
  get vm(): string {
    return this.once('vm0', () => makeVm(this.kvmfs, 'vm0', EXIT_LOOP));
  }

  /** the C server on FUSE over io_uring (native/uring-floor.c) */
  get floor(): string {
    return this.once('floor', () => {
      const dir = join(work, 'uring-floor');
      startUringFloor(this.tools, dir);
      return dir;
    });
  }

  /** the C libfuse 2 server on /dev/fuse (native/floor.c), the floor before FUSE over io_uring */
  get libfuseFloor(): string {
    return this.once('libfuse-floor', () => {
      const dir = join(work, 'libfuse-floor');
      startServer(this.tools.libfuseFloor, [dir], dir);
      waitForMount(dir, 'run');
      return dir;
    });
  }
}

/** A group of rows `npm run bench -- --only KEY,...` can select. */
export interface RowGroup {
  key: string;
  what: string;
  /** false for a group that runs no guest and mounts nothing */
  needsKvm?: false;
  measure: (bench: Bench) => Promise<Row[]>;
}
