// Shutdown under load (issue 14): 4 vcpus in exit loops and 4 readers of
// regs, sregs and memory, then SIGTERM (or `kvmfs umount` from another
// process): the daemon exits 0 within 1 s, and every client ends within 1 s
// (with its data, or ENOTCONN / ECONNABORTED), never a hang. Repeated, with
// and without FUSE over io_uring.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { cli, Mount, realModeVm, sh, slowdown } from './harness.js';
import * as guests from './guests.js';

const REPEATS = slowdown > 1 ? 2 : 10;
/** The bound the issue sets, scaled for a slow (emulated) machine. */
const BOUND_MS = 1000 * slowdown;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two VMs of two vcpus each, every vcpu in an exit loop (guests.counter, its own counter and port). */
async function loadVms(mount: Mount): Promise<string[]> {
  const vcpus: string[] = [];
  for (const vm of ['a', 'b']) {
    await realModeVm(mount, vm, guests.counter);
    await mount.ok(`
      mkdir "$M/${vm}/vcpu1"
      echo 'cs base=0 selector=0' > "$M/${vm}/vcpu1/sregs"
      env printf 'rip 0x1000\\nrbx 0x2002\\nrdx 0xe9\\n' > "$M/${vm}/vcpu1/regs"
      env printf 'rbx 0x2000\\nrdx 0xe9\\n' > "$M/${vm}/vcpu0/regs"
    `);
    vcpus.push(`${vm}/vcpu0`, `${vm}/vcpu1`);
  }
  return vcpus;
}

/** A client loop in a child shell; resolves with when it ended. */
function client(dir: string, script: string): { child: ChildProcess; ended: Promise<number> } {
  const child = spawn('sh', ['-c', script], { env: { ...process.env, M: dir }, stdio: 'ignore' });
  return { child, ended: once(child, 'exit').then(() => Date.now()) };
}

async function underLoad(args: string[], stop: (mount: Mount) => Promise<unknown>): Promise<{ exitMs: number; clientsMs: number; code: number | null }> {
  const mount = await Mount.start(['--run-timeout', '0', ...args]);
  const clients: Array<ReturnType<typeof client>> = [];
  try {
    const vcpus = await loadVms(mount);
    for (const vcpu of vcpus) clients.push(client(mount.dir, `while cat "$M/${vcpu}/run" > /dev/null 2>&1; do :; done`));
    for (const vcpu of vcpus) {
      const vm = vcpu.split('/')[0];
      clients.push(client(mount.dir, `while cat "$M/${vcpu}/regs" "$M/${vcpu}/sregs" > /dev/null 2>&1 && dd if="$M/${vm}/memory" of=/dev/null bs=64k count=16 status=none 2>/dev/null; do :; done`));
    }
    await sleep(300 * slowdown);
    const exited = once(mount.daemon, 'exit');
    // timed from when the stop is done (kvmfs umount is a node process of its own, slow to start in a VM)
    await stop(mount);
    const started = Date.now();
    await Promise.race([exited, sleep(5 * BOUND_MS)]);
    const exitMs = Date.now() - started;
    const ends = await Promise.race([Promise.all(clients.map((each) => each.ended)), sleep(5 * BOUND_MS).then(() => [])]);
    const clientsMs = ends.length === clients.length ? Math.max(...ends) - started : Infinity;
    return { exitMs, clientsMs, code: mount.daemon.exitCode };
  } finally {
    for (const each of clients) if (each.child.exitCode === null) each.child.kill('SIGKILL');
    await mount.stop();
  }
}

describe.each([
  ['SIGTERM', [], async (mount: Mount) => mount.daemon.kill('SIGTERM')],
  ['SIGTERM, --no-io-uring', ['--no-io-uring'], async (mount: Mount) => mount.daemon.kill('SIGTERM')],
  ['kvmfs umount from another process', [], (mount: Mount) => sh(mount.dir, `"${process.execPath}" "${cli}" umount "$M"`)],
] as Array<[string, string[], (mount: Mount) => Promise<unknown>]>)('%s with 4 vcpus in exit loops and 4 state readers', (_, args, stop) => {
  it(`the daemon exits 0 within 1 s and every client ends within 1 s, ${REPEATS} times`, async () => {
    const results = [];
    for (let i = 0; i < REPEATS; i++) results.push(await underLoad(args, stop));
    console.log(`shutdown under load: ${JSON.stringify(results)}`);
    for (const { exitMs, clientsMs, code } of results) {
      expect(code).toBe(0);
      expect(exitMs).toBeLessThan(BOUND_MS);
      expect(clientsMs).toBeLessThan(BOUND_MS);
    }
  }, 150_000 * slowdown); // ten mounts, each set up under load on a 2-core machine
});
