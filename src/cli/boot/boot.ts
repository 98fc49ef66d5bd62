// `kvmfs boot <elf> <mount>/<vm>`: a VMM that knows only the mount. It
// makes the VM, loads a freestanding 64-bit ELF, and runs it until the
// guest writes its exit status to the shutdown port, printing its console
// (docs/vmm.md). Nothing here uses KVM but through the files.
import { readFileSync } from 'node:fs';
import { parseElf } from './elf.js';
import { checkPlan, setUpVm } from './vm-setup.js';
import { runUntilShutdown } from './run-loop.js';

export interface BootArguments {
  elf: string;
  vm: string;
  memoryBytes: number;
  consolePort: number;
  shutdownPort: number;
}

/** Boots the guest; resolves to the process's exit status: the guest's own, or 1 if it stopped otherwise. */
export async function boot(args: BootArguments): Promise<number> {
  const plan = { vm: args.vm, executable: parseElf(readFileSync(args.elf)), memoryBytes: args.memoryBytes, consolePort: args.consolePort };
  checkPlan(plan);
  setUpVm(plan);
  const note = (text: string) => process.stderr.write(`kvmfs boot: ${text}\n`);
  const ending = await runUntilShutdown({
    vm: args.vm,
    shutdownPort: args.shutdownPort,
    output: (bytes) => process.stdout.write(bytes),
    note,
  });
  if (ending.kind === 'shutdown') {
    note(`the guest shut down with status ${ending.status} (port 0x${args.shutdownPort.toString(16)})`);
    return ending.status;
  }
  note(`the guest stopped: ${ending.exit} (the VM is left at ${args.vm} to look at)`);
  return 1;
}
