// `kvmfs mount`: the foreground daemon.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { bundledLibfusePath, enableFuseUring, isMounted, KVMFS_TYPE, mountedType, unmount } from './platform.js';
import { Hypervisor } from '../backend/hypervisor.js';
import { KvmFs } from '../fs/kvmfs.js';
import { mountChannel } from '../fs/fuse/kernel-mount.js';
import { FuseSession } from '../fs/fuse/session.js';
import { offThreadModule } from '../fs/files/off-thread.js';
import type { MountOptions } from '../fs/tree.js';

export interface MountArguments extends MountOptions {
  mountPoint: string;
  allowOther: boolean;
  debug: boolean;
  busyPollMs: number;
  /** --io-uring */
  ioUring: boolean;
}

/** Reader threads waiting on the channel at once. */
const READERS = 2;
/** At shutdown, how long VM teardown and the reader threads' leaving may take (the daemon exits within 1 s). */
const VM_TEARDOWN_MS = 500;
const READERS_GONE_MS = 600;

/**
 * default_permissions: the kernel checks mode bits (chown/chmod per VM
 * decide who may use it). allow_other: users other than the daemon's may
 * enter the mount at all.
 */
function mountOptions(allowOther: boolean): string[] {
  return ['default_permissions', 'fsname=kvmfs', 'subtype=kvmfs', ...(allowOther ? ['allow_other'] : [])];
}

/**
 * A mount point left behind by a daemon that was killed answers ENOTCONN
 * (ECONNABORTED for a moment after the kill, while the kernel tears down
 * the daemon's io_urings).
 */
function clearStaleMount(mountPoint: string): void {
  try {
    statSync(mountPoint);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTCONN' || code === 'ECONNABORTED') unmount(mountPoint);
  }
}

/** The mount point is created if missing; libfuse refuses a non-empty one with a cryptic message. */
function prepareMountPoint(mountPoint: string): void {
  clearStaleMount(mountPoint);
  // (any other file system mounted there is an ordinary directory to mount on: empty or not, below)
  if (mountedType(mountPoint) === KVMFS_TYPE) {
    throw new Error(`${mountPoint} is already mounted (a kvmfs daemon serves it): unmount it first (kvmfs umount ${mountPoint}) or mount on another directory`);
  }
  if (existsSync(mountPoint) && !statSync(mountPoint).isDirectory()) throw new Error(`${mountPoint} is not a directory`);
  mkdirSync(mountPoint, { recursive: true });
  if (readdirSync(mountPoint).length > 0) throw new Error(`${mountPoint} is not empty: mount kvmfs on an empty directory`);
}

export async function mount(args: MountArguments): Promise<void> {
  const hypervisor = Hypervisor.open();
  const fs = new KvmFs(hypervisor, args, { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
  prepareMountPoint(args.mountPoint);
  // Before the mount: the kernel offers io_uring at INIT only if enabled then.
  const ioUring = args.ioUring && enableFuseUring();
  const fd = mountChannel(bundledLibfusePath(), args.mountPoint, mountOptions(args.allowOther));
  const session = new FuseSession(fd, fs, { debug: args.debug, busyPollMs: args.busyPollMs, readers: READERS, ioUring, mountPoint: args.mountPoint, offThreadModule });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`kvmfs: ${signal}: destroying VMs and unmounting ${args.mountPoint}\n`);
    // First end every request in flight and let every reader thread go:
    // the process must never wait on a thread blocked in a FUSE call.
    const closed = session.close(READERS_GONE_MS);
    try {
      if (isMounted(args.mountPoint)) unmount(args.mountPoint);
    } catch (error) {
      process.stderr.write(`kvmfs: ${(error as Error).message}\n`);
    }
    // VM teardown waits for runs to end; never let it hold the exit up.
    await Promise.race([fs.destroyAll(), new Promise((resolve) => setTimeout(resolve, VM_TEARDOWN_MS))]);
    await closed;
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // Unmounted from outside (kvmfs umount, umount -l): nothing can reach the
  // VMs any more, so go, as a FUSE daemon does when its session ends.
  await session.start(() => void shutdown('unmounted'));
  process.stderr.write(`kvmfs: mounted at ${args.mountPoint} (KVM API ${hypervisor.system.apiVersion}); Ctrl-C or SIGTERM unmounts\n`);
}
