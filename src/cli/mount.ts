// `kvmfs mount`: the foreground daemon.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { isMounted, preloadLibfuse, unmount } from './platform.js';
import { Hypervisor } from '../backend/hypervisor.js';
import { KvmFs } from '../fs/kvmfs.js';
import { mountFuse } from '../fs/fuse-adapter.js';
import type { MountOptions } from '../fs/tree.js';

export interface MountArguments extends MountOptions {
  mountPoint: string;
  allowOther: boolean;
  debug: boolean;
  busyPollMs: number;
}

/** A mount point left behind by a daemon that was killed answers ENOTCONN. */
function clearStaleMount(mountPoint: string): void {
  try {
    statSync(mountPoint);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTCONN') unmount(mountPoint);
  }
}

/** The mount point is created if missing; libfuse refuses a non-empty one with a cryptic message. */
function prepareMountPoint(mountPoint: string): void {
  clearStaleMount(mountPoint);
  if (existsSync(mountPoint) && !statSync(mountPoint).isDirectory()) throw new Error(`${mountPoint} is not a directory`);
  mkdirSync(mountPoint, { recursive: true });
  if (readdirSync(mountPoint).length > 0) throw new Error(`${mountPoint} is not empty: mount kvmfs on an empty directory`);
}

export async function mount(args: MountArguments): Promise<void> {
  preloadLibfuse();
  const hypervisor = Hypervisor.open();
  const fs = new KvmFs(hypervisor, args, { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
  prepareMountPoint(args.mountPoint);
  await mountFuse(args.mountPoint, fs, { debug: args.debug, allowOther: args.allowOther, busyPollMs: args.busyPollMs });
  process.stderr.write(`kvmfs: mounted at ${args.mountPoint} (KVM API ${hypervisor.apiVersion}); Ctrl-C or SIGTERM unmounts\n`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`kvmfs: ${signal}: destroying VMs and unmounting ${args.mountPoint}\n`);
    try {
      if (isMounted(args.mountPoint)) unmount(args.mountPoint);
    } catch (error) {
      process.stderr.write(`kvmfs: ${(error as Error).message}\n`);
    }
    // VM teardown waits for vcpu threads; never let it hold the exit up.
    await Promise.race([fs.destroyAll(), new Promise((resolve) => setTimeout(resolve, 500))]);
    // Let the answers of the runs just stopped (`intr`) reach their readers.
    setTimeout(() => process.exit(0), 20);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // Unmounted from outside (kvmfs umount, umount -l): nothing can reach the
  // VMs any more, so go, as a FUSE daemon does when its session ends.
  setInterval(() => {
    if (!isMounted(args.mountPoint)) void shutdown('unmounted');
  }, 1000).unref();
}
