// Makes a VM ready to enter a 64-bit ELF, through the mount's files only
// (node:fs, as a shell script would with mkdir, echo and dd): the in-kernel
// irqchip and PIT, RAM, the ELF's segments and the boot tables, vcpu0 in
// long mode at the entry point, and the console port.
import { closeSync, mkdirSync, openSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Executable } from './elf.js';
import { BOOT_TABLES_END, bootTables, entryRegs, longModeSregs, type MemoryWrite } from './long-mode.js';

export interface BootPlan {
  vm: string;
  executable: Executable;
  memoryBytes: number;
  consolePort: number;
}

/** A reason not to boot, for the user (the files' own errors pass through as they are). */
export class BootError extends Error {}

/** Refuses what cannot be loaded before anything is made. */
export function checkPlan({ executable, memoryBytes }: BootPlan): void {
  for (const { address, memorySize } of executable.segments) {
    if (address < BOOT_TABLES_END) {
      throw new BootError(`a segment at 0x${address.toString(16)} overlaps the boot tables below 0x${BOOT_TABLES_END.toString(16)}: link the guest higher (e.g. at 1 MiB)`);
    }
    if (address + memorySize > memoryBytes) {
      throw new BootError(`a segment at 0x${address.toString(16)} of 0x${memorySize.toString(16)} bytes ends past the guest's memory (0x${memoryBytes.toString(16)} bytes): give --memory more`);
    }
  }
}

function writeMemory(memory: string, writes: MemoryWrite[]): void {
  const fd = openSync(memory, 'r+');
  try {
    for (const [address, bytes] of writes) {
      for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, address + done);
    }
  } finally {
    closeSync(fd);
  }
}

/** Each step is one file write, in the order KVM needs (the irqchip before any vcpu, the PIT after the irqchip). */
export function setUpVm(plan: BootPlan): void {
  const { vm, executable } = plan;
  mkdirSync(vm);
  writeFileSync(join(vm, 'irqchip'), 'kernel\n');
  writeFileSync(join(vm, 'pit'), 'create\n');
  truncateSync(join(vm, 'memory'), plan.memoryBytes);
  // The VM is new, so its RAM is zeros: a segment's .bss needs no writing.
  writeMemory(join(vm, 'memory'), [...bootTables(), ...executable.segments.map(({ address, data }): MemoryWrite => [address, data])]);
  mkdirSync(join(vm, 'vcpu0'));
  writeFileSync(join(vm, 'vcpu0', 'sregs'), longModeSregs);
  writeFileSync(join(vm, 'vcpu0', 'regs'), entryRegs(executable.entry));
  writeFileSync(join(vm, 'console_ports'), `0x${plan.consolePort.toString(16)}\n`);
}
