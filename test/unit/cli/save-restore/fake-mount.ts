// A kvmfs mount in memory, for the save/restore tools' unit tests (this
// machine may have no /dev/kvm): the files of the contract with the rules
// the tools depend on. mkdir makes a VM or a vcpu with its files, dirty_log
// clears on read and logs only guest writes, memory only grows, the
// irqchip files answer ENXIO without an irqchip, the irqchip, tss_addr and
// identity_map_addr refuse a write once a vcpu exists (as KVM does), the
// PIT is "none" until "create", tss_addr is set when the VM is made (as
// kvmfs does) and refuses to be set again (KVM_SET_TSS_ADDR's EEXIST on
// VMX), msrs takes any subset of its lines but refuses MSR_KVM_ASYNC_PF_INT
// (0x4b564d06) even unchanged, as KVM does without an in-kernel LAPIC.
// Every write is logged, in order.
import type { BlockHandle, MountFiles } from '../../../../src/cli/save-restore/mount-files.js';

const PAGE = 4096;

export const VM_STATE = ['tss_addr', 'identity_map_addr', 'irqchip', 'console_ports', 'pic_master', 'pic_slave', 'ioapic', 'pit', 'clock'];
export const VCPU_STATE = ['regs', 'sregs', 'fpu', 'xsave', 'xcrs', 'msrs', 'cpuid', 'lapic', 'events', 'mp_state', 'debugregs', 'debug'];
const TSS_ADDR = 'tss_addr 0x00000000fffbd000\n';
const ASYNC_PF_INT = '0x4b564d06';
const NEW_MSRS = `0x00000010 0x0000000000000000\n${ASYNC_PF_INT} 0x0000000000000000\n`;
const IRQCHIP_FILES = new Set(['pic_master', 'pic_slave', 'ioapic', 'lapic']);
const BEFORE_VCPUS = new Set(['irqchip', 'tss_addr', 'identity_map_addr']);

function fsError(code: string, path: string): Error {
  return Object.assign(new Error(`${code}: fake mount, ${path}`), { code });
}

class FakeVm {
  readonly files = new Map<string, Buffer>();
  readonly vcpus = new Map<number, Map<string, Buffer>>();
  memory = Buffer.alloc(0);
  dirty = new Set<number>();
  dirtyLogReads = 0;
  lastError = '';

  constructor(served: ReadonlySet<string>) {
    const initial: Record<string, string> = { irqchip: 'none\n', pit: 'none\n', console_ports: '', tss_addr: TSS_ADDR, identity_map_addr: 'none\n' };
    for (const name of VM_STATE) if (served.has(name)) this.files.set(name, Buffer.from(initial[name] ?? `${name} 0x0\n`));
  }

  get irqchip(): boolean {
    return this.files.get('irqchip')?.toString().trim() === 'kernel';
  }
}

export class FakeMount implements MountFiles {
  readonly vms = new Map<string, FakeVm>();
  /** "vm/path" of every write and mkdir, in order. */
  readonly log: string[] = [];
  /** Reads and writes that fail: "vm/path" -> [errno code, last_error text]. */
  readonly refuseRead = new Map<string, [string, string]>();
  readonly refuseWrite = new Map<string, [string, string]>();

  /** `served`: the state files this mount has (all of the contract's by default). */
  constructor(readonly root: string, readonly served: ReadonlySet<string> = new Set([...VM_STATE, ...VCPU_STATE])) {}

  /** [vm, vcpu index or undefined, file name or undefined] of a path under the root. */
  private parse(path: string): { vm: string; vcpu?: number; file?: string } | 'root' | 'api_version' {
    if (!path.startsWith(`${this.root}/`)) return path === this.root ? 'root' : (() => { throw fsError('ENOENT', path); })();
    const parts = path.slice(this.root.length + 1).split('/').filter((p) => p !== '');
    if (parts.length === 1 && parts[0] === 'api_version') return 'api_version';
    const [vm, second, third] = parts;
    const vcpu = second !== undefined ? /^vcpu(\d+)$/.exec(second) : null;
    if (vcpu) return { vm: vm!, vcpu: Number(vcpu[1]), ...(third !== undefined ? { file: third } : {}) };
    return { vm: vm!, ...(second !== undefined ? { file: second } : {}) };
  }

  private vm(name: string, path: string): FakeVm {
    const vm = this.vms.get(name);
    if (!vm) throw fsError('ENOENT', path);
    return vm;
  }

  private stateMap(path: string): { vm: FakeVm; map: Map<string, Buffer>; file: string; key: string } {
    const at = this.parse(path);
    if (typeof at === 'string' || at.file === undefined) throw fsError('EISDIR', path);
    const vm = this.vm(at.vm, path);
    const map = at.vcpu === undefined ? vm.files : vm.vcpus.get(at.vcpu);
    if (!map) throw fsError('ENOENT', path);
    return { vm, map, file: at.file, key: `${at.vm}/${at.vcpu === undefined ? '' : `vcpu${at.vcpu}/`}${at.file}` };
  }

  /** A guest store: changes memory and marks its pages dirty. */
  guestWrite(vmName: string, gpa: number, bytes: Buffer): void {
    const vm = this.vm(vmName, vmName);
    bytes.copy(vm.memory, gpa);
    for (let page = Math.floor(gpa / PAGE); page * PAGE < gpa + bytes.length; page++) vm.dirty.add(page);
  }

  read(path: string): Buffer {
    const at = this.parse(path);
    if (at === 'api_version') return Buffer.from('12\n');
    if (at === 'root' || at.file === undefined) throw fsError('EISDIR', path);
    if (at.vcpu === undefined) {
      const vm = this.vm(at.vm, path);
      if (at.file === 'last_error') return Buffer.from(vm.lastError ? `${vm.lastError}\n` : '');
      if (at.file === 'dirty_log') {
        vm.dirtyLogReads++;
        const bitmap = Buffer.alloc(Math.ceil(vm.memory.length / PAGE / 64) * 8);
        for (const page of vm.dirty) bitmap[page >> 3] |= 1 << (page & 7);
        vm.dirty.clear();
        return bitmap;
      }
    }
    const { vm, map, file, key } = this.stateMap(path);
    const content = map.get(file);
    if (!content) throw fsError('ENOENT', path);
    const refused = this.refuseRead.get(key);
    if (refused) {
      vm.lastError = refused[1];
      throw fsError(refused[0], path);
    }
    if (IRQCHIP_FILES.has(file) && !vm.irqchip) throw fsError('ENXIO', path);
    return Buffer.from(content);
  }

  write(path: string, data: Buffer): void {
    const { vm, map, file, key } = this.stateMap(path);
    if (!map.has(file)) throw fsError('ENOENT', path);
    const refused = this.refuseWrite.get(key);
    if (refused) {
      vm.lastError = refused[1];
      throw fsError(refused[0], path);
    }
    if (IRQCHIP_FILES.has(file) && !vm.irqchip) throw fsError('ENXIO', path);
    if (BEFORE_VCPUS.has(file) && vm.vcpus.size > 0) throw fsError('EINVAL', path);
    if (file === 'tss_addr') throw fsError('EEXIST', path);
    const text = data.toString();
    this.log.push(key);
    if (file === 'irqchip' && text.trim() === 'kernel') {
      for (const name of ['pic_master', 'pic_slave', 'ioapic']) if (this.served.has(name)) vm.files.set(name, Buffer.from(`${name} default\n`));
    }
    if (file === 'pit' && text.trim() === 'create') {
      if (!vm.irqchip) throw fsError('ENXIO', path);
      map.set(file, Buffer.from('ch0 default\n'));
      return;
    }
    if (file === 'pit' && map.get(file)!.toString() === 'none\n') throw fsError('ENXIO', path);
    if (file === 'msrs') {
      const lines = new Map(map.get(file)!.toString().split('\n').filter((l) => l !== '').map((l) => [l.split(' ')[0], l]));
      for (const line of text.split('\n').filter((l) => l !== '')) {
        if (line.startsWith(ASYNC_PF_INT)) throw fsError('EINVAL', path);
        lines.set(line.split(' ')[0], line);
      }
      map.set(file, Buffer.from([...lines.keys()].sort().map((key) => `${lines.get(key)}\n`).join('')));
      return;
    }
    map.set(file, Buffer.from(data));
  }

  exists(path: string): boolean {
    try {
      const at = this.parse(path);
      if (typeof at === 'string') return true;
      if (at.file === undefined) return this.isDirectory(path);
      if (at.vcpu === undefined && ['memory', 'dirty_log', 'last_error'].includes(at.file)) return this.vms.has(at.vm);
      return this.stateMap(path).map.has(at.file);
    } catch {
      return false;
    }
  }

  isDirectory(path: string): boolean {
    const at = this.parse(path);
    if (at === 'root') return true;
    if (at === 'api_version' || at.file !== undefined) return false;
    const vm = this.vms.get(at.vm);
    return vm !== undefined && (at.vcpu === undefined || vm.vcpus.has(at.vcpu));
  }

  list(path: string): string[] {
    const at = this.parse(path);
    if (typeof at === 'string' || at.vcpu !== undefined || at.file !== undefined) throw fsError('ENOTDIR', path);
    const vm = this.vm(at.vm, path);
    return ['memory', 'dirty_log', 'last_error', ...vm.files.keys(), ...[...vm.vcpus.keys()].map((n) => `vcpu${n}`)];
  }

  mkdir(path: string): void {
    const at = this.parse(path);
    if (typeof at === 'string' || at.file !== undefined) throw fsError('EPERM', path);
    if (at.vcpu === undefined) {
      if (this.vms.has(at.vm)) throw fsError('EEXIST', path);
      this.vms.set(at.vm, new FakeVm(this.served));
    } else {
      const vm = this.vm(at.vm, path);
      if (vm.vcpus.has(at.vcpu)) throw fsError('EEXIST', path);
      const files = new Map<string, Buffer>();
      for (const name of VCPU_STATE) if (this.served.has(name)) files.set(name, Buffer.from(name === 'msrs' ? NEW_MSRS : `${name} default\n`));
      vm.vcpus.set(at.vcpu, files);
    }
    this.log.push(`mkdir ${path.slice(this.root.length + 1)}`);
  }

  rmdir(path: string): void {
    const at = this.parse(path);
    if (typeof at === 'string' || at.vcpu !== undefined || at.file !== undefined) throw fsError('EPERM', path);
    this.vm(at.vm, path);
    this.vms.delete(at.vm);
  }

  truncate(path: string, size: number): void {
    const at = this.parse(path);
    if (typeof at === 'string' || at.file !== 'memory') throw fsError('EINVAL', path);
    const vm = this.vm(at.vm, path);
    const target = Math.ceil(size / PAGE) * PAGE;
    if (target > vm.memory.length) vm.memory = Buffer.concat([vm.memory, Buffer.alloc(target - vm.memory.length)]);
    this.log.push(`${at.vm}/memory size`);
  }

  open(path: string): BlockHandle {
    const at = this.parse(path);
    if (typeof at === 'string' || at.file !== 'memory') throw fsError('EINVAL', path);
    const vm = this.vm(at.vm, path);
    const log = this.log;
    let wrote = false;
    return {
      readAt: (target, offset) => vm.memory.copy(target, 0, offset, Math.min(vm.memory.length, offset + target.length)),
      writeAt(source, offset) {
        if (offset + source.length > vm.memory.length) throw fsError('ENOSPC', path);
        if (!wrote) log.push(`${at.vm}/memory contents`);
        wrote = true;
        source.copy(vm.memory, offset); // a write through the file: not in the dirty log, as with KVM
      },
      size: () => vm.memory.length,
      close: () => {},
    };
  }
}

/**
 * A VM `name` as a user would set it up: `vcpus` vcpus whose every state
 * file says which vcpu it is, an irqchip and a PIT (unless `bare`), 1 MiB
 * of memory with the guest's stores at pages 1, 2 and 0x80. Returns its path.
 */
export function makeVm(mount: FakeMount, name: string, options: { vcpus?: number; bare?: boolean } = {}): string {
  const vm = `${mount.root}/${name}`;
  const set = (path: string, text: string | Buffer) => {
    if (mount.served.has(path.split('/').pop()!)) mount.write(`${vm}/${path}`, Buffer.from(text));
  };
  mount.mkdir(vm);
  if (!options.bare) {
    set('irqchip', 'kernel\n');
    set('pit', 'create\n');
    for (const file of ['pic_master', 'pic_slave', 'ioapic', 'pit']) set(file, `${file} of ${name}\n`);
  }
  for (const file of ['identity_map_addr', 'clock']) set(file, `${file} of ${name}\n`);
  set('console_ports', '0x00e9\n');
  for (let n = 0; n < (options.vcpus ?? 2); n++) {
    mount.mkdir(`${vm}/vcpu${n}`);
    for (const file of VCPU_STATE) {
      if (options.bare && IRQCHIP_FILES.has(file)) continue;
      const content = { xsave: Buffer.from([n, 0, 0xff, 0, 10, 13]), msrs: `0x00000010 0x00000000000012a${n}\n` }[file];
      set(`vcpu${n}/${file}`, content ?? `${file} of ${name} vcpu${n}\n`);
    }
  }
  mount.truncate(`${vm}/memory`, 1 << 20);
  mount.guestWrite(name, PAGE + 5, Buffer.from('page one'));
  mount.guestWrite(name, 2 * PAGE, Buffer.from('page two'));
  mount.guestWrite(name, 0x80 * PAGE, Buffer.from('page 0x80'));
  mount.log.length = 0;
  return vm;
}

/** Every state file of a VM, and its memory, by path: to compare two VMs. */
export function vmState(mount: FakeMount, name: string): Map<string, string> {
  const vm = mount.vms.get(name)!;
  const state = new Map<string, string>([['memory', vm.memory.toString('hex')]]);
  for (const [file, content] of vm.files) state.set(file, content.toString('hex'));
  for (const [n, files] of vm.vcpus) for (const [file, content] of files) state.set(`vcpu${n}/${file}`, content.toString('hex'));
  return state;
}
