// The filesystem's operations, independent of the FUSE binding: each takes
// a path (or an open file) and returns a value or throws. The FUSE session
// (fuse/session.ts) turns what is thrown into an errno; failures are also
// written, as one line, to the last_error file of the VM they concern.
import { errno, FsError, toFsError } from './errors.js';
import { attributes, type Attributes, type OffThread, type PseudoFile, type Stat } from './node.js';
import { LocalSnapshot, readOpenFile, writeOpenFile } from './open-file.js';
import { directoryMode, resolve, RootNode, splitPath, VcpuNode, VmNode, type MountOptions, type Resolved } from './tree.js';
import { quote } from './format/errors.js';
import type { Hypervisor } from '../backend/hypervisor.js';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const O_ACCMODE = 3;
const O_RDONLY = 0;
const O_WRONLY = 1;
const NAME_MAX = 255;
const VCPU_NAME = /^vcpu(0|[1-9][0-9]*)$/;

export type { Stat };

interface OpenFile {
  file: PseudoFile;
  /** the content rendered by the last read at offset 0 */
  snapshot: LocalSnapshot;
  /** where the previous write on this open file ended */
  cursor: { end: number };
}

export class KvmFs {
  private readonly root: RootNode;
  private readonly openFiles = new Map<number, OpenFile>();
  private nextHandle = 1;

  constructor(private readonly hypervisor: Hypervisor, private readonly options: MountOptions, owner: { uid: number; gid: number }) {
    this.root = new RootNode(hypervisor, attributes(0o755, owner));
  }

  /** Runs one operation on `path`; a failure is recorded in last_error before it is rethrown as an FsError. */
  async guard<T>(path: string, operation: () => T | Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      const failure = toFsError(error);
      this.recordError(path, failure);
      throw failure;
    }
  }

  getattr(path: string): Stat {
    const found = this.lookup(path);
    if (found.kind === 'file') {
      const { file } = found;
      const size = file.kind === 'block' ? file.size() : (file.size?.() ?? 0);
      return { ...stat(S_IFREG | file.attr.mode, file.attr, size, 1), sizeChanges: file.kind === 'block' || file.size !== undefined };
    }
    const attr = found.node.attr;
    const subdirectories = found.kind === 'root' ? found.node.vms.size : found.kind === 'vm' ? found.node.vcpus.size : 0;
    return stat(S_IFDIR | attr.mode, attr, 0, 2 + subdirectories);
  }

  readdir(path: string): string[] {
    const found = this.lookup(path);
    switch (found.kind) {
      case 'root':
        return [...found.node.files.keys(), ...found.node.vms.keys()];
      case 'vm':
        return [...found.node.files.keys(), ...found.node.vcpus.keys()];
      case 'vcpu':
        return [...found.node.files.keys()];
      case 'file':
        throw new FsError(errno.ENOTDIR, 'not a directory');
    }
  }

  open(path: string, flags: number): number {
    const found = this.lookup(path);
    if (found.kind !== 'file') throw new FsError(errno.EISDIR, 'is a directory');
    const { file } = found;
    const access = flags & O_ACCMODE;
    const readable = file.kind === 'block' || file.read !== undefined;
    const writable = file.kind === 'block' ? file.writeAt !== undefined : file.write !== undefined;
    if (access !== O_WRONLY && !readable) throw new FsError(errno.EACCES, 'this file can only be written');
    if (access !== O_RDONLY && !writable) throw new FsError(errno.EACCES, 'this file is read-only');
    const handle = this.nextHandle++;
    this.openFiles.set(handle, { file, snapshot: new LocalSnapshot(), cursor: { end: 0 } });
    return handle;
  }

  release(handle: number): void {
    this.openFiles.delete(handle);
  }

  /** How a reader thread may serve the open file itself (node.ts, OffThread); `required` for a read that may last. */
  offThreadOf(handle: number): { offThread: OffThread; required: boolean } | undefined {
    const { file } = this.openFile(handle);
    if (!file.offThread) return undefined;
    return { offThread: file.offThread, required: file.kind === 'snapshot' && file.interrupt !== undefined };
  }

  /** The caller of a read that may last was interrupted (FUSE_INTERRUPT): end it early. */
  interrupt(handle: number): void {
    const open = this.openFiles.get(handle);
    if (open?.file.kind === 'snapshot') open.file.interrupt?.();
  }

  /** An operation on `path` that failed elsewhere (on a reader thread): recorded in last_error like any other. */
  recordFailure(path: string, failure: { message: string }): void {
    this.recordError(path, failure);
  }

  /** A read at offset 0 takes a fresh snapshot; reads past 0 continue it, then EOF. */
  async read(handle: number, target: Buffer, offset: number): Promise<number> {
    const { file, snapshot } = this.openFile(handle);
    if (file.kind === 'snapshot' && file.interrupt) throw new FsError(errno.EIO, 'this file is read on reader threads only');
    return readOpenFile(file, snapshot, offset, target);
  }

  /** One write(2) is one change: parsed whole, applied whole, or rejected with nothing changed. */
  async write(handle: number, data: Buffer, offset: number): Promise<number> {
    const { file, cursor } = this.openFile(handle);
    return writeOpenFile(file, cursor, data, offset);
  }

  /** Grows memory; for every other file (a shell's O_TRUNC) it changes nothing. */
  truncate(path: string, size: number): void {
    const found = this.lookup(path);
    if (found.kind !== 'file') throw new FsError(errno.EISDIR, 'is a directory');
    if (found.file.kind === 'block') found.file.truncate?.(size);
  }

  async mkdir(path: string): Promise<void> {
    const parts = splitPath(path);
    const name = parts[parts.length - 1] ?? '';
    const parent = this.lookup('/' + parts.slice(0, -1).join('/'));
    if (parent.kind === 'file') throw new FsError(errno.ENOTDIR, 'not a directory');
    if (resolve(this.root, path)) throw new FsError(errno.EEXIST, `${quote(name)} exists`);
    if (parent.kind === 'root') return this.createVm(name);
    if (parent.kind === 'vm') return this.createVcpu(parent.node, name);
    throw new FsError(errno.EPERM, 'only VMs (at the top) and vcpu<N> (in a VM) can be created');
  }

  async rmdir(path: string): Promise<void> {
    const found = this.lookup(path);
    switch (found.kind) {
      case 'vm':
        if (found.node.vm.running) throw new FsError(errno.EBUSY, 'a vcpu of this VM is running (write its stop file first)');
        this.root.vms.delete(found.name);
        await found.node.vm.destroy(true);
        return;
      case 'vcpu':
        throw new FsError(errno.EPERM, 'a vcpu lives as long as its VM: rmdir the VM');
      case 'root':
        throw new FsError(errno.EBUSY, 'the mount point');
      case 'file':
        throw new FsError(errno.ENOTDIR, 'not a directory');
    }
  }

  chmod(path: string, mode: number): void {
    this.attributesOf(path).mode = mode & 0o7777;
  }

  chown(path: string, uid: number, gid: number): void {
    const attr = this.attributesOf(path);
    // -1 (as an unsigned 32-bit value) means "leave unchanged", as in chown(2)
    if (uid !== -1 && uid !== 0xffffffff) attr.uid = uid;
    if (gid !== -1 && gid !== 0xffffffff) attr.gid = gid;
  }

  /**
   * Plain files cannot be created, removed, renamed or linked anywhere;
   * directories are made with mkdir and go with rmdir, never renamed or linked.
   */
  deny(path: string): never {
    const name = quote(splitPath(path).pop() ?? path);
    const found = resolve(this.root, path);
    if (found && found.kind !== 'file') throw new FsError(errno.EPERM, `${name}: directories cannot be renamed or linked in kvmfs (mkdir makes them, rmdir destroys them)`);
    throw new FsError(errno.EPERM, `${name}: files cannot be created, removed or renamed in kvmfs`);
  }

  /** Destroys every VM: the daemon is going away. */
  async destroyAll(): Promise<void> {
    const vms = [...this.root.vms.values()];
    this.root.vms.clear();
    await Promise.allSettled(vms.map((node) => node.vm.destroy(true)));
  }

  private attributesOf(path: string): Attributes {
    const found = this.lookup(path);
    return found.kind === 'file' ? found.file.attr : found.node.attr;
  }

  private createVm(name: string): void {
    // Names are JS strings here: bytes that are not UTF-8 would arrive as
    // U+FFFD and name a different VM.
    if (name.includes('\ufffd')) throw new FsError(errno.EINVAL, `cannot create VM ${quote(name)}: a VM name must be UTF-8 text`);
    if (Buffer.byteLength(name) > NAME_MAX) throw new FsError(errno.ENAMETOOLONG, `cannot create a VM with a ${Buffer.byteLength(name)}-byte name (at most ${NAME_MAX})`);
    if (this.root.vms.size >= this.options.maxVms) {
      throw new FsError(errno.ENOSPC, `cannot create VM ${quote(name)}: the mount's --max-vms (${this.options.maxVms}) is reached`);
    }
    const vm = this.hypervisor.createVm();
    this.root.vms.set(name, new VmNode(vm, attributes(directoryMode, this.root.attr), () => this.memoryLeft()));
  }

  private async createVcpu(vmNode: VmNode, name: string): Promise<void> {
    const match = VCPU_NAME.exec(name);
    if (!match) throw new FsError(errno.EINVAL, `cannot create ${quote(name)}: a VM holds only vcpu<N> directories (N decimal, no leading zeros)`);
    const { limit, capability } = this.hypervisor.vcpuIdLimit;
    if (Number(match[1]) >= limit) {
      throw new FsError(errno.EINVAL, `cannot create ${quote(name)}: vcpu id ${match[1]} is out of range (KVM takes 0 to ${limit - 1}: ${capability})`);
    }
    if (this.sumOverVms((node) => node.vcpus.size) >= this.options.maxVcpus) {
      throw new FsError(errno.ENOSPC, `cannot create ${quote(name)}: the mount's --max-vcpus (${this.options.maxVcpus}) is reached`);
    }
    const vcpu = await vmNode.vm.createVcpu(Number(match[1]));
    vmNode.vcpus.set(name, new VcpuNode(vcpu, vmNode.vm, attributes(directoryMode, vmNode.attr), this.options.runTimeoutMs));
  }

  private memoryLeft(): number {
    return Math.max(0, this.options.maxMemory - this.sumOverVms((node) => node.vm.memory.size));
  }

  /** What the mount-wide limits count: a measure added up over every VM. */
  private sumOverVms(measure: (node: VmNode) => number): number {
    let total = 0;
    for (const node of this.root.vms.values()) total += measure(node);
    return total;
  }

  private lookup(path: string): Resolved {
    const found = resolve(this.root, path);
    if (!found) throw new FsError(errno.ENOENT, 'no such file or directory');
    return found;
  }

  private openFile(handle: number): OpenFile {
    const open = this.openFiles.get(handle);
    if (!open) throw new FsError(errno.EBADF, 'file not open');
    return open;
  }

  /** `vcpu0/regs: line 1: unknown register "rpi"` into the VM's last_error (or the top-level one). */
  private recordError(path: string, error: { message: string }): void {
    const [first, ...rest] = splitPath(path);
    const vm = first === undefined ? undefined : this.root.vms.get(first);
    if (vm && rest.length > 0) vm.errors.record(`${rest.join('/')}: ${error.message}`);
    else this.root.errors.record(`${path.replace(/^\//, '') || '/'}: ${error.message}`);
  }
}

function stat(mode: number, attr: Attributes, size: number, nlink: number): Stat {
  return { mode, uid: attr.uid, gid: attr.gid, size, nlink, atime: attr.mtime, mtime: attr.mtime, ctime: attr.ctime };
}
