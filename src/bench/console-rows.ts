// Bench rows of the console and of kvmfs boot (issue 15): bytes a second a
// guest writes through `console` against the same guest on raw KVM_RUN
// in-process dropping its bytes, and the two-tasks guest booted to its
// shutdown through the files against the same loop in-process; `--only
// console` runs these alone.
import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmdirSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kvm } from '../backend/kvm/system.js';
import { GuestMemory } from '../backend/guest-memory.js';
import type { VcpuFd } from '../backend/kvm/vcpu.js';
import type { VmFd } from '../backend/kvm/vm.js';
import { applySregsPatch, parseSregs } from '../fs/format/sregs.js';
import { parseRegs } from '../fs/format/regs.js';
import { bootTables, entryRegs, longModeSregs, type MemoryWrite } from '../cli/boot/long-mode.js';
import { parseElf, type Executable } from '../cli/boot/elf.js';
import { setUpVm } from '../cli/boot/vm-setup.js';
import { runUntilShutdown } from '../cli/boot/run-loop.js';
import type { RowGroup } from './bench.js';
import { atLeast, atMost, paired, pairedRow, type Row } from './harness.js';

const CONSOLE_PORT = 0xe9;
const SHUTDOWN_PORT = 0xf4;
const TWO_TASKS = resolve(fileURLToPath(import.meta.url), '..', '..', '..', 'guests', 'two-tasks', 'two-tasks.elf');
const VMM_MEMORY = 16 << 20;
/** Bytes the throughput guest writes, one `out` each. */
const THROUGHPUT_BYTES = 50_000;
const CODE_ADDRESS = 0x8000;

/** Long mode at CODE_ADDRESS: mov $bytes,%ecx; mov $0xe9,%edx; mov $'A',%eax; 1: out %al,%dx; dec %ecx; jnz 1b; hlt */
function throughputGuest(bytes: number): Uint8Array {
  const code = Uint8Array.from([0xb9, 0, 0, 0, 0, 0xba, 0xe9, 0, 0, 0, 0xb8, 0x41, 0, 0, 0, 0xee, 0xff, 0xc9, 0x75, 0xfb, 0xf4]);
  new DataView(code.buffer).setUint32(1, bytes, true);
  return code;
}

/** The guest's memory: the boot tables, and `code` at CODE_ADDRESS. */
const throughputImage = (): MemoryWrite[] => [...bootTables(), [CODE_ADDRESS, throughputGuest(THROUGHPUT_BYTES)]];

function pointAtEntry(vcpu: VcpuFd, entry: number): void {
  vcpu.setSregs(applySregsPatch(vcpu.getSregs(), parseSregs(longModeSregs)));
  vcpu.setRegs({ ...vcpu.getRegs(), ...parseRegs(entryRegs(entry)) });
}

/**
 * Raw KVM_RUN in-process until an exit that is not an io out to the
 * console port (whose bytes it drops): hlt, or the shutdown port.
 */
function runDroppingConsole(vcpu: VcpuFd): number {
  for (;;) {
    vcpu.run();
    const port = vcpu.kvmRun.outPort;
    if (port !== CONSOLE_PORT) return port;
  }
}

/**
 * A VM of its own in this process: `prepare` (the irqchip and PIT), RAM
 * holding `writes`, vcpu0 in long mode at `entry`, run until it exits
 * other than to the console. Returns ms: of the run alone, or of it all.
 */
function rawVm(memoryBytes: number, writes: MemoryWrite[], entry: number, timed: 'run' | 'all', prepare: (vm: VmFd) => void = () => {}): number {
  const kvm = Kvm.open();
  const vm = kvm.createVm();
  const memory = new GuestMemory(vm);
  try {
    const started = process.hrtime.bigint();
    prepare(vm);
    memory.grow(memoryBytes);
    for (const [address, bytes] of writes) memory.write(address, bytes);
    const vcpu = vm.createVcpu(0);
    pointAtEntry(vcpu, entry);
    const runStarted = process.hrtime.bigint();
    runDroppingConsole(vcpu);
    const ended = process.hrtime.bigint();
    vcpu.close();
    return Number(ended - (timed === 'run' ? runStarted : started)) / 1e6;
  } finally {
    vm.close();
    memory.release();
    kvm.close();
  }
}

/** The throughput guest on the mount, its console on; returns ms of one `run` read (the guest's whole life). */
function kvmfsThroughput(vmDir: string): number {
  writeFileSync(join(vmDir, 'vcpu0', 'regs'), entryRegs(CODE_ADDRESS));
  const run = openSync(join(vmDir, 'vcpu0', 'run'), 'r');
  try {
    const exit = Buffer.alloc(256);
    const started = process.hrtime.bigint();
    const length = readSync(run, exit, 0, exit.length, 0);
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    if (exit.subarray(0, length).toString().trim() !== 'hlt') throw new Error(`throughput guest: ${exit.toString()}`);
    return elapsed;
  } finally {
    closeSync(run);
  }
}

/** The throughput guest's VM on the mount, through its files, console on CONSOLE_PORT. */
function setUpThroughputVm(vmDir: string): void {
  mkdirSync(vmDir);
  truncateSync(join(vmDir, 'memory'), 1 << 20);
  const memory = openSync(join(vmDir, 'memory'), 'r+');
  try {
    for (const [address, bytes] of throughputImage()) writeSync(memory, bytes, 0, bytes.length, address);
  } finally {
    closeSync(memory);
  }
  mkdirSync(join(vmDir, 'vcpu0'));
  writeFileSync(join(vmDir, 'vcpu0', 'sregs'), longModeSregs);
  writeFileSync(join(vmDir, 'console_ports'), `0x${CONSOLE_PORT.toString(16)}\n`);
}

async function measureConsole(mountDir: string): Promise<Row[]> {
  const rows: Row[] = [];
  const vmDir = join(mountDir, 'console-throughput');
  setUpThroughputVm(vmDir);
  const perSecond = (ms: number) => THROUGHPUT_BYTES / (ms / 1000);
  kvmfsThroughput(vmDir); // warm up
  const throughput = await paired(
    'console bytes/s, kvmfs', () => perSecond(kvmfsThroughput(vmDir)),
    'console bytes/s, raw KVM_RUN in-process dropping them', () => perSecond(rawVm(1 << 20, throughputImage(), CODE_ADDRESS, 'run')));
  rows.push(pairedRow('console throughput (one out per byte)', 'bytes/s', throughput, 'raw KVM_RUN (koffi), bytes dropped', atLeast(0.9)));

  const elf = parseElf(readFileSync(TWO_TASKS));
  let boots = 0;
  const vmm = await paired(
    'two-tasks boot to shutdown, kvmfs boot (ms)', () => kvmfsBoot(join(mountDir, `two-tasks-${boots++}`), elf),
    'two-tasks boot to shutdown, raw in-process (ms)', () => rawVm(VMM_MEMORY, [...bootTables(), ...elf.segments.map(({ address, data }): MemoryWrite => [address, data])], elf.entry, 'all', (vm) => {
      vm.createIrqchip();
      vm.createPit2();
    }));
  rows.push(pairedRow('two-tasks guest, boot to shutdown', 'ms', vmm, 'raw in-process loop', atMost(1.1)));
  return rows;
}

export const consoleRows: RowGroup[] = [{
  key: 'console',
  what: 'console throughput vs raw KVM_RUN dropping the bytes; the two-tasks guest booted by kvmfs boot vs the same loop in-process',
  measure: (bench) => measureConsole(bench.kvmfs),
}];

/** kvmfs boot's own steps (its console dropped), timed from the VM's mkdir to the shutdown; the VM is removed after. */
async function kvmfsBoot(vm: string, executable: Executable): Promise<number> {
  const started = process.hrtime.bigint();
  setUpVm({ vm, executable, memoryBytes: VMM_MEMORY, consolePort: CONSOLE_PORT });
  const ending = await runUntilShutdown({ vm, shutdownPort: SHUTDOWN_PORT, output: () => {}, note: () => {} });
  if (ending.kind !== 'shutdown' || ending.status !== 0) throw new Error(`two-tasks did not shut down cleanly: ${JSON.stringify(ending)}`);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  rmdirSync(vm);
  return elapsed;
}
