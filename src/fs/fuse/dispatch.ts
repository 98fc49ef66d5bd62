// One dispatch from FUSE operations to the file system: each decoded
// request (protocol.ts) the main thread answers becomes calls on the
// Filesystem, and its reply payload. FORGET and INTERRUPT are the
// session's (they get no reply of their own).
import { errno, FsError } from '../errors.js';
import type { Stat } from '../node.js';
import type { Filesystem } from './filesystem.js';
import { listing } from './listing.js';
import { childPath, type NodeTable } from './nodes.js';
import { fattr, FOPEN_DIRECT_IO, FOPEN_NOFLUSH, type FuseRequest, type InitIn } from './protocol.js';
import type { Registry } from './registry.js';
import { attrOut, dirents, entryOut, openOut, statfsOut, writeOut, type NodeAttr } from './replies.js';

const NAME_MAX = 255;
/** Names FUSE passed on before it allowed longer ones with max_pages; longer are ENAMETOOLONG, as they were. */
const FUSE_NAME_MAX = 1024;
const decoder = new TextDecoder();
/**
 * Seconds the kernel keeps a name, and the attributes of a node whose size
 * changes only through the mount, before it asks again (it asked on every
 * path walk and stat: 7 of a `cat vm0/vcpu0/regs`'s 11 requests). Exact,
 * not a staleness bound: a directory's files are fixed, VMs and vcpus come
 * only by MKDIR and go only by RMDIR, whose replies the kernel applies to
 * its caches itself (and it drops the parent's attributes, for nlink); a
 * failed LOOKUP is never cached; mode and owner change only by SETATTR,
 * whose reply refreshes the kernel's copy; times never change. Sizes that
 * change behind the kernel (Stat.sizeChanges) are never kept.
 */
const VALID_SECONDS = 60;

export class Dispatch {
  constructor(
    private readonly fs: Filesystem, private readonly nodes: NodeTable, private readonly registry: Registry,
    /** INIT: the session agrees on the protocol and the transports */
    private readonly init: (init: InitIn) => Uint8Array,
  ) {}

  /** The reply payload of one request; throws (an errno) to fail it. */
  async answer(request: FuseRequest): Promise<Uint8Array | undefined> {
    const fs = this.fs;
    switch (request.op) {
      case 'INIT':
        return this.init(request.init);
      case 'LOOKUP': {
        const path = childPath(this.pathOf(request), nameOf(request.name));
        return entryOut(this.attr(this.nodes.lookup(path), fs.getattr(path)), VALID_SECONDS);
      }
      case 'SETATTR': {
        const path = this.pathOf(request);
        const { set } = request;
        await fs.guard(path, () => {
          if (set.valid & fattr.MODE) fs.chmod(path, set.mode);
          if (set.valid & (fattr.UID | fattr.GID)) fs.chown(path, set.valid & fattr.UID ? set.uid : -1, set.valid & fattr.GID ? set.gid : -1);
          if (set.valid & fattr.SIZE) fs.truncate(path, set.size);
        });
        return attrOut(this.attr(request.nodeId, fs.getattr(path)));
      }
      case 'MKDIR': {
        const path = childPath(this.pathOf(request), nameOf(request.name));
        await fs.guard(path, () => fs.mkdir(path));
        return entryOut(this.attr(this.nodes.lookup(path), fs.getattr(path)), VALID_SECONDS);
      }
      case 'RMDIR': {
        const path = childPath(this.pathOf(request), nameOf(request.name));
        await fs.guard(path, () => fs.rmdir(path));
        this.registry.sweep();
        return undefined;
      }
      case 'UNLINK':
      case 'SYMLINK':
      case 'MKNOD':
      case 'CREATE':
      case 'RENAME':
      case 'RENAME2':
      case 'LINK': {
        // Creating, removing, renaming or linking: EPERM, recorded in last_error.
        const path = childPath(this.pathOf(request), nameOf(request.name));
        await fs.guard(path, () => fs.deny(path));
        return undefined;
      }
      case 'OPEN': {
        const path = this.pathOf(request);
        const fh = await fs.guard(path, async () => {
          const handle = fs.open(path, request.flags);
          const served = fs.offThreadOf(handle);
          try {
            return await this.registry.openWaiting(handle, served?.offThread, served?.required ?? false);
          } catch (error) {
            fs.release(handle);
            throw error;
          }
        });
        return openOut(fh, FOPEN_DIRECT_IO | FOPEN_NOFLUSH);
      }
      case 'READ': {
        const path = this.pathOf(request);
        const target = Buffer.alloc(request.size);
        const count = await fs.guard(path, () => fs.read(this.registry.handleOf(request.fh), target, request.offset));
        return target.subarray(0, count);
      }
      case 'WRITE': {
        const path = this.pathOf(request);
        const data = Buffer.from(request.data.buffer, request.data.byteOffset, request.data.byteLength);
        return writeOut(await fs.guard(path, () => fs.write(this.registry.handleOf(request.fh), data, request.offset)));
      }
      case 'RELEASE':
        fs.release(this.registry.handleOf(request.fh));
        this.registry.release(request.fh);
        return undefined;
      case 'READDIR':
        return dirents(listing(fs, this.nodes, this.pathOf(request)), request.offset, request.size);
      case 'FORGET':
      case 'BATCH_FORGET':
      case 'INTERRUPT':
        return undefined;
      case 'OTHER':
        return this.other(request);
    }
  }

  /** The ops answered from the header alone, and the ones kvmfs does not implement. */
  private other(request: FuseRequest & { op: 'OTHER' }): Uint8Array | undefined {
    switch (request.name) {
      case 'GETATTR':
        return attrOut(this.attr(request.nodeId, this.fs.getattr(this.pathOf(request))));
      case 'OPENDIR':
        this.fs.readdir(this.pathOf(request));
        return openOut(0, 0);
      case 'STATFS':
        return statfsOut(NAME_MAX);
      case 'FLUSH':
        // Files are opened FOPEN_NOFLUSH; should a FLUSH come anyway, ENOSYS
        // makes the kernel send none again (fc->no_flush; close still succeeds).
        throw new FsError(errno.ENOSYS, 'nothing to flush');
      case 'FSYNC':
      case 'FSYNCDIR':
      case 'RELEASEDIR':
      case 'DESTROY':
        return undefined;
      default:
        // ACCESS (the kernel checks modes itself: default_permissions), xattrs,
        // locks, ...: ENOSYS, and the kernel stops asking.
        throw new FsError(errno.ENOSYS, 'not implemented');
    }
  }

  private pathOf(request: { nodeId: number }): string {
    const path = this.nodes.path(request.nodeId);
    if (path === undefined) throw new FsError(errno.ENOENT, 'stale node');
    return path;
  }

  private attr(ino: number, stat: Stat): NodeAttr {
    const attrValid = stat.sizeChanges ? 0 : VALID_SECONDS;
    return { ino, size: stat.size, mode: stat.mode, nlink: stat.nlink, uid: stat.uid, gid: stat.gid, mtime: stat.mtime, ctime: stat.ctime, attrValid };
  }
}

/** A request's name as text; longer than FUSE passed on before max_pages: ENAMETOOLONG. */
function nameOf(name: Uint8Array): string {
  if (name.length > FUSE_NAME_MAX) throw new FsError(errno.ENAMETOOLONG, 'name too long');
  return decoder.decode(name);
}
