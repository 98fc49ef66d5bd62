// Runs the real gdb in batch mode against a bridge on `port`, for the unit
// tests (bridge on a fake vcpu) and the end-to-end tests (bridge on a mount).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export const GDB = '/usr/bin/gdb';

/** Why the real-gdb tests cannot run here, said loudly; undefined if they can. */
export function gdbMissing(): string | undefined {
  if (existsSync(GDB)) return undefined;
  const reason = `${GDB} is missing: install the Debian package \`gdb\` (apt-get install gdb) to run the gdb bridge tests`;
  process.stderr.write(`\n*** SKIPPING: ${reason} ***\n\n`);
  return reason;
}

/**
 * gdb -batch with `commands` after `target remote`; `before` run before it
 * (e.g. `set architecture i8086`). `interruptWhen`: once it resolves (the
 * guest is seen running), SIGINT to gdb, which makes it send Ctrl-C (0x03)
 * to the bridge while `continue` waits. gdb is killed after `timeoutMs`.
 */
export async function gdbBatch(port: number, commands: string[], options: { before?: string[]; interruptWhen?: Promise<unknown>; timeoutMs?: number } = {}): Promise<string> {
  const args = ['-nx', '-batch', '-ex', 'set confirm off', '-ex', 'set pagination off',
    ...(options.before ?? []).flatMap((c) => ['-ex', c]),
    '-ex', `target remote 127.0.0.1:${port}`, ...commands.flatMap((c) => ['-ex', c])];
  const child = spawn(GDB, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  void options.interruptWhen?.then(() => child.kill('SIGINT'));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  await new Promise((resolve) => child.on('exit', resolve));
  clearTimeout(killer);
  return output;
}
