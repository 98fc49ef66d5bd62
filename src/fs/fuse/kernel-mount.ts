// Mounting: libfuse's fuse_mount (from the libfuse.so.2 fuse-native ships)
// opens /dev/fuse and mounts it with our options, as root with mount(2),
// otherwise through fusermount. kvmfs serves the channel fd itself. And the
// end of a connection: fusectl's abort.
import { mkdtempSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import { MNT_DETACH, mount, umount2 } from '../../sys/libc.js';
import { mountInfo } from '../../sys/mountinfo.js';

interface Libfuse {
  addArg: (args: FuseArgs, arg: string) => number;
  freeArgs: (args: FuseArgs) => void;
  mount: (mountPoint: string, args: FuseArgs) => unknown;
  channelFd: (channel: unknown) => number;
}

interface FuseArgs {
  argc: number;
  argv: unknown;
  allocated: number;
}

let libfuse: Libfuse | undefined;

function load(libfusePath: string): Libfuse {
  if (libfuse) return libfuse;
  const lib = koffi.load(libfusePath);
  koffi.struct('fuse_args', { argc: 'int', argv: 'void *', allocated: 'int' });
  libfuse = {
    addArg: lib.func('int fuse_opt_add_arg(_Inout_ fuse_args *args, const char *arg)'),
    freeArgs: lib.func('void fuse_opt_free_args(_Inout_ fuse_args *args)'),
    mount: lib.func('void *fuse_mount(const char *mountpoint, _Inout_ fuse_args *args)'),
    channelFd: lib.func('int fuse_chan_fd(void *ch)'),
  };
  return libfuse;
}

/**
 * Mounts a FUSE file system at `mountPoint` with mount options `options`
 * (allow_other, default_permissions, fsname=..., ...) and returns the
 * channel fd its requests arrive on.
 */
export function mountChannel(libfusePath: string, mountPoint: string, options: string[]): number {
  const fuse = load(libfusePath);
  const args: FuseArgs = { argc: 0, argv: null, allocated: 0 };
  for (const arg of ['kvmfs', '-o', options.join(',')]) fuse.addArg(args, arg);
  try {
    const channel = fuse.mount(mountPoint, args);
    if (channel === null) throw new Error(`cannot mount FUSE at ${mountPoint} (libfuse said why above)`);
    return fuse.channelFd(channel);
  } finally {
    fuse.freeArgs(args);
  }
}

const FUSECTL = '/sys/fs/fuse/connections';

/** The FUSE connection of the mount at `mountPoint`: its device's minor number, from mountinfo (the mount itself is not touched). */
export function connectionOf(mountPoint: string): number | undefined {
  const [major, minor] = mountInfo(mountPoint)?.device.split(':') ?? [];
  return major === '0' && minor !== undefined ? Number(minor) : undefined;
}

/**
 * Aborts FUSE connection `id` (fusectl's abort file, as `fusermount -u`
 * cannot): every request in flight fails with ECONNABORTED, and every
 * reader blocked in /dev/fuse or a ring returns. Where fusectl is not
 * mounted, it is mounted for the moment on a private directory (root
 * only). False if the connection could not be aborted.
 */
export function abortConnection(id: number): boolean {
  const abort = (dir: string) => {
    try {
      writeFileSync(join(dir, String(id), 'abort'), '1');
      return true;
    } catch {
      return false;
    }
  };
  if (abort(FUSECTL)) return true;
  const dir = mkdtempSync(join(tmpdir(), 'kvmfs-fusectl-'));
  try {
    return mount('fusectl', dir, 'fusectl', 0, null) === 0 && abort(dir);
  } finally {
    umount2(dir, MNT_DETACH);
    rmdirSync(dir);
  }
}
