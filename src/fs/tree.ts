// The directory tree: the top level, one VmNode per VM, one VcpuNode per
// vcpu, each holding its files' handlers. Pure bookkeeping; kvmfs.ts does
// the operations.
import { attributes, modes, type Attributes, type PseudoFile } from './node.js';
import { ErrorLog } from './files/last-error.js';
import { apiVersionFile, capabilitiesFile } from './files/system.js';
import { systemStateFiles } from './files/system-state.js';
import { dirtyLogFile, memoryFile } from './files/vm.js';
import { vmControllerFiles, vcpuControllerFiles } from './files/controllers.js';
import { consoleFiles } from './files/console.js';
import { interruptFile, regsFile, runFile, sregsFile, stopFile } from './files/vcpu.js';
import { vcpuStateFiles } from './files/vcpu-state.js';
import { debugFiles } from './files/debug.js';
import type { Hypervisor, SharedVcpu, VirtualMachine } from '../backend/hypervisor.js';

const { readOnly: READ_ONLY, ownerRead: OWNER_READ, ownerReadWrite: OWNER_READ_WRITE, ownerWrite: OWNER_WRITE, ownerDirectory: OWNER_DIRECTORY } = modes;

export interface MountOptions {
  /** --run-timeout: a run longer than this returns `intr`; 0 = no limit */
  runTimeoutMs: number;
  /** --max-memory: guest RAM of all VMs together, bytes */
  maxMemory: number;
  /** --max-vms */
  maxVms: number;
  /** --max-vcpus: vcpus of all VMs together (each running one holds a host thread) */
  maxVcpus: number;
}

export class VcpuNode {
  readonly files: Map<string, PseudoFile>;

  constructor(readonly vcpu: SharedVcpu, vm: VirtualMachine, readonly attr: Attributes, runTimeoutMs: number) {
    const file = (mode: number) => attributes(mode, attr);
    const context = { vcpu, vm, file };
    this.files = new Map<string, PseudoFile>([
      ['regs', regsFile(vcpu, file(OWNER_READ_WRITE))],
      ['sregs', sregsFile(vcpu, file(OWNER_READ_WRITE))],
      ['run', runFile(vcpu, file(OWNER_READ_WRITE), runTimeoutMs)],
      ['interrupt', interruptFile(vcpu, file(OWNER_WRITE))],
      ['stop', stopFile(vcpu, file(OWNER_WRITE))],
      ...vcpuStateFiles(context),
      ...vcpuControllerFiles(context),
      ...debugFiles(context),
    ]);
  }
}

export class VmNode {
  readonly files: Map<string, PseudoFile>;
  readonly vcpus = new Map<string, VcpuNode>();
  readonly errors = new ErrorLog();

  constructor(readonly vm: VirtualMachine, readonly attr: Attributes, memoryLeft: () => number) {
    const file = (mode: number) => attributes(mode, attr);
    this.files = new Map<string, PseudoFile>([
      ['memory', memoryFile(vm, file(OWNER_READ_WRITE), memoryLeft)],
      ['dirty_log', dirtyLogFile(vm, file(OWNER_READ))],
      ['last_error', this.errors.file(file(OWNER_READ))],
      ...vmControllerFiles({ vm, file }),
      ...consoleFiles({ vm, file }),
    ]);
  }
}

export class RootNode {
  readonly files: Map<string, PseudoFile>;
  readonly vms = new Map<string, VmNode>();
  readonly errors = new ErrorLog();

  constructor(hypervisor: Hypervisor, readonly attr: Attributes) {
    const file = (mode: number) => attributes(mode, attr);
    this.files = new Map<string, PseudoFile>([
      ['api_version', apiVersionFile(hypervisor.system, file(READ_ONLY))],
      ['capabilities', capabilitiesFile(hypervisor.system, file(READ_ONLY))],
      ['last_error', this.errors.file(file(OWNER_READ))],
      ...systemStateFiles({ hypervisor, file }),
    ]);
  }
}

export const directoryMode = OWNER_DIRECTORY;

/** What a path names. */
export type Resolved =
  | { kind: 'root'; node: RootNode }
  | { kind: 'vm'; node: VmNode; name: string }
  | { kind: 'vcpu'; node: VcpuNode; vm: VmNode; name: string }
  | { kind: 'file'; file: PseudoFile; vm: VmNode | undefined };

export function splitPath(path: string): string[] {
  return path.split('/').filter((part) => part.length > 0);
}

export function resolve(root: RootNode, path: string): Resolved | undefined {
  const [first, second, third, ...rest] = splitPath(path);
  if (first === undefined) return { kind: 'root', node: root };
  if (rest.length > 0) return undefined;
  const rootFile = root.files.get(first);
  if (rootFile) return second === undefined ? { kind: 'file', file: rootFile, vm: undefined } : undefined;
  const vm = root.vms.get(first);
  if (!vm) return undefined;
  if (second === undefined) return { kind: 'vm', node: vm, name: first };
  const vmFile = vm.files.get(second);
  if (vmFile) return third === undefined ? { kind: 'file', file: vmFile, vm } : undefined;
  const vcpu = vm.vcpus.get(second);
  if (!vcpu) return undefined;
  if (third === undefined) return { kind: 'vcpu', node: vcpu, vm, name: second };
  const vcpuFile = vcpu.files.get(third);
  return vcpuFile ? { kind: 'file', file: vcpuFile, vm } : undefined;
}
