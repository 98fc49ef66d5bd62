// What the CLI needs from the host beyond KVM: where the libfuse that
// fuse-native bundles is, and unmounting. (The FUSE channel itself is src/fs/fuse.)
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { koffi, lastErrno, MNT_DETACH, umount2 } from '../sys/libc.js';
import { bundledLibfusePath } from '../sys/libfuse.js';
import { mountInfo } from '../sys/mountinfo.js';
import { abortConnection, connectionOf } from '../fs/fuse/kernel-mount.js';

const require = createRequire(import.meta.url);

export { bundledLibfusePath };

/** Loads the bundled libfuse (kvmfs mounts with its fuse_mount): throws if it cannot be. */
export function loadBundledLibfuse(): void {
  koffi.load(bundledLibfusePath());
}

const FUSE_ENABLE_URING = '/sys/module/fuse/parameters/enable_uring';

/** The fuse module's FUSE over io_uring switch: not there (kernel before 6.14, or built without it), on, or off (and whether this process may turn it on). */
export function fuseUringSwitch(): 'missing' | 'on' | 'off' | 'off, ours to turn on' {
  let value: string;
  try {
    value = readFileSync(FUSE_ENABLE_URING, 'utf8').trim();
  } catch {
    return 'missing';
  }
  if (value === 'Y') return 'on';
  try {
    accessSync(FUSE_ENABLE_URING, constants.W_OK);
    return 'off, ours to turn on';
  } catch {
    return 'off';
  }
}

/**
 * Whether FUSE over io_uring can be used: the fuse module has it and it is
 * enabled, by kvmfs if need be (as root). The switch is the module's, for
 * every FUSE mount made after; a server that does not ask for io_uring at
 * INIT is not affected.
 */
export function enableFuseUring(): boolean {
  switch (fuseUringSwitch()) {
    case 'on':
      return true;
    case 'off, ours to turn on':
      try {
        writeFileSync(FUSE_ENABLE_URING, 'Y');
        return true;
      } catch {
        return false;
      }
    default:
      return false; // /dev/fuse serves alone
  }
}

/** Whether `mountPoint` is in this process's mount table (read without touching the mount itself). */
export function isMounted(mountPoint: string): boolean {
  return mountInfo(mountPoint) !== undefined;
}

/** The type a kvmfs mount has in the mount table (its fsname and subtype). */
export const KVMFS_TYPE = 'fuse.kvmfs';

/** The file system type mounted at `mountPoint` (KVMFS_TYPE for a kvmfs daemon's), if any. */
export function mountedType(mountPoint: string): string | undefined {
  return mountInfo(mountPoint)?.fsType;
}

/**
 * Detaches the mount (also a stale one whose daemon died: "Transport
 * endpoint is not connected"). As root this is umount2(MNT_DETACH); other
 * users go through fuse-native's bundled setuid helper, if installed so.
 */
export function unmount(mountPoint: string): void {
  if (process.getuid?.() === 0) {
    // A detached mount lives on while a client holds it (a `cat run` in a
    // long run): its daemon would never hear of the unmount. Abort the
    // connection too: in-flight requests fail, and the daemon's readers see
    // the end of the session and shut it down.
    const connection = mountedType(mountPoint) === KVMFS_TYPE ? connectionOf(mountPoint) : undefined;
    if (umount2(mountPoint, MNT_DETACH) === 0) {
      if (connection !== undefined) abortConnection(connection);
      return;
    }
    const code = lastErrno();
    const reasons: Record<number, string> = { 2: 'no such directory', 22: 'is not a mount point', 16: 'is busy', 1: 'not permitted' };
    throw new Error(`${mountPoint} ${reasons[code] ?? `cannot be unmounted (errno ${code})`}`);
  }
  const helper = join(dirname(require.resolve('fuse-shared-library-linux/package.json')), 'libfuse', 'bin', 'fusermount');
  const result = spawnSync(helper, ['-uz', mountPoint], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`fusermount -uz ${mountPoint}: ${result.stderr || result.error?.message || 'failed'}`);
}
