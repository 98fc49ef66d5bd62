// Helpers of the fault suites (faults.test.ts, faults-spin.test.ts): readers
// of `run` as child processes, and spinning VMs.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { type Mount, realModeVm } from './harness.js';
import * as guests from './guests.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A `cat` of one file, as a child process, with what it printed. */
export interface Reader {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

export function startReader(path: string): Reader {
  const child = spawn('cat', [path], { stdio: ['ignore', 'pipe', 'pipe'] });
  const reader: Reader = { child, stdout: '', stderr: '', exited: undefined as never };
  child.stdout!.on('data', (chunk: Buffer) => { reader.stdout += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { reader.stderr += chunk.toString(); });
  reader.exited = once(child, 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, at: Date.now() }));
  return reader;
}

/** Resolves with the reader's exit, or undefined if it is still there after `ms`. */
export async function exitWithin(reader: Reader, ms: number) {
  return Promise.race([reader.exited, sleep(ms).then(() => undefined)]);
}

export function still(reader: Reader): boolean {
  return reader.child.exitCode === null && reader.child.signalCode === null;
}

/** A spinning real-mode VM `name` with vcpus 0..count-1, all at the `jmp .` at 0x1000. */
export async function spinningVm(mount: Mount, name: string, vcpus = 1): Promise<void> {
  await realModeVm(mount, name, guests.spin);
  for (let id = 1; id < vcpus; id++) {
    await mount.ok(`
      mkdir "$M/${name}/vcpu${id}"
      echo 'cs base=0 selector=0' > "$M/${name}/vcpu${id}/sregs"
      echo 'rip 0x1000' > "$M/${name}/vcpu${id}/regs"
    `);
  }
}
