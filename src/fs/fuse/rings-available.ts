// Whether this process serves FUSE over io_uring, and how the kernel is
// told when it will not after all.
import { possibleCpus } from './cpus.js';
import { RingEntry, ringsAllowed } from './uring.js';

/**
 * Rings are served by a reader thread per possible CPU (each a Node worker,
 * about 11 MiB); past this many CPUs that costs more memory than the time
 * it saves is worth, and /dev/fuse serves alone.
 */
const MAX_RING_CPUS = 16;

/** Why this process should not take requests through FUSE over io_uring; undefined if it can. */
export function whyNoRings(): string | undefined {
  const cpus = possibleCpus().length;
  if (cpus > MAX_RING_CPUS) return `${cpus} possible CPUs, and kvmfs serves rings on at most ${MAX_RING_CPUS} (a reader thread per CPU)`;
  if (!ringsAllowed()) return 'io_uring is refused to this process (kernel.io_uring_disabled, seccomp)';
  return undefined;
}

/** Tells the kernel that requests of the session on `fuseFd` must go to /dev/fuse: no rings will serve them. */
export function abandonRings(fuseFd: number): void {
  const entry = RingEntry.open(fuseFd, 0, 4096);
  try {
    entry.registerRefused();
  } finally {
    entry.close();
  }
}
