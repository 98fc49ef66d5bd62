// `kvmfs gdb` with the stock gdb, through a real mount: registers, memory,
// stepi, break + continue and a watchpoint in long mode, Ctrl-C on a
// spinning guest, detach, kill, and real mode as i8086.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, Mount, realModeVm, slowdown } from './harness.js';
import { loadVm } from './guests.js';
import { loop64, steps16 } from './guests-debug.js';
import { sayWatchpointsSkipped, watchpointsHonoured } from './host-debug.js';
import { gdbBatch, gdbMissing } from '../unit/cli/gdb/gdb-batch.js';

/** gdb talks to the bridge over TCP: where 127.0.0.1 cannot be reached (a VM without lo up), say so and skip. */
async function loopbackMissing(): Promise<string | undefined> {
  const server = createServer((socket) => socket.destroy());
  try {
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
    await new Promise<void>((resolve, reject) => {
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1', () => { socket.destroy(); resolve(); });
      socket.once('error', reject);
    });
    return undefined;
  } catch (error) {
    const reason = `no loopback network here (${(error as Error).message}): kvmfs gdb serves gdb on 127.0.0.1`;
    process.stderr.write(`\n*** SKIPPING the gdb bridge tests: ${reason} ***\n\n`);
    return reason;
  } finally {
    server.close();
  }
}

const missing = gdbMissing() ?? await loopbackMissing();
const GDB_TIMEOUT_MS = 60_000 * slowdown;
const ALL_OFF = 'singlestep 0\nsw_breakpoints 0\nhw0 off\nhw1 off\nhw2 off\nhw3 off\n';

/** `kvmfs gdb <vm-dir> --port 0`, once it says which port it serves. */
async function startBridge(vmDir: string): Promise<{ bridge: ChildProcess; port: number; log: () => string }> {
  const bridge = spawn(process.execPath, [cli, 'gdb', vmDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    bridge.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const match = /serving .* on 127\.0\.0\.1:(\d+)/.exec(log);
      if (match) resolve(Number(match[1]));
    });
    bridge.on('exit', (code) => reject(new Error(`kvmfs gdb exited ${code}: ${log}`)));
  });
  return { bridge, port, log: () => log };
}

describe.skipIf(missing)('kvmfs gdb on a real mount', () => {
  let mount: Mount;
  const bridges: ChildProcess[] = [];
  beforeAll(async () => {
    mount = await Mount.start();
  });
  afterAll(async () => {
    for (const bridge of bridges) bridge.kill();
    await mount.stop();
  });

  it('long mode: registers, memory, stepi, break + continue, watch, detach', async () => {
    await loadVm(mount, 'lm', loop64, 'long');
    const { bridge, port, log } = await startBridge(`${mount.dir}/lm`);
    bridges.push(bridge);
    // Where KVM ignores data breakpoints, gdb's software watchpoint (single steps) stands in, loudly.
    if (!watchpointsHonoured) sayWatchpointsSkipped("gdb's hardware watchpoint (a software one is tested instead)");
    const out = await gdbBatch(port, [
      'info registers rip rax cs efer cr3', 'x/4i $pc', 'stepi', 'stepi', 'p/x $rax', 'p/x $pc',
      'break *0x100e', 'continue', 'p/x $pc', 'x/gx 0x5000', 'delete',
      ...(watchpointsHonoured ? [] : ['set can-use-hw-watchpoints 0']),
      'watch *(long *)0x5000', 'continue', 'p/x $pc', 'detach',
    ], { timeoutMs: GDB_TIMEOUT_MS });
    expect(out).toMatch(/^rip\s+0x1000\s/m);
    expect(out).toMatch(/^cs\s+0x8\s/m);
    expect(out).toMatch(/^efer\s+0x500\s/m);
    expect(out).toMatch(/^cr3\s+0x2000\s/m);
    expect(out).toMatch(/=> 0x1000:\s+xor\s+%rax,%rax\n\s+0x1003:\s+inc\s+%rax\n\s+0x1006:\s+mov\s+%rax,0x5000\n\s+0x100e:\s+jmp\s+0x1003/);
    expect(out).toContain('$1 = 0x1\n');
    expect(out).toContain('$2 = 0x1006\n');
    expect(out).toContain('Breakpoint 1, 0x000000000000100e in ?? ()');
    expect(out).toContain('$3 = 0x100e\n');
    expect(out).toMatch(/0x5000:\s+0x0000000000000001\n/);
    expect(out).toMatch(new RegExp(`${watchpointsHonoured ? 'Hardware w' : 'W'}atchpoint 2: \\*\\(long \\*\\)0x5000\\s+Old value = 1\\s+New value = 2`));
    expect(out).toContain('$4 = 0x100e\n');
    expect(out).toContain('[Inferior 1 (Remote target) detached]');
    // The guest did what gdb showed, and the bridge left no breakpoint behind.
    expect(await mount.ok('od -An -tx8 -j 0x5000 -N 8 "$M/lm/memory"')).toBe(' 0000000000000002\n');
    expect(await mount.ok('cat "$M/lm/vcpu0/debug"')).toBe(ALL_OFF);
    expect(log()).toContain('detached');
  });

  it('Ctrl-C stops a spinning guest; kill destroys the VM', async () => {
    await loadVm(mount, 'spin', loop64, 'long');
    const { bridge, port } = await startBridge(`${mount.dir}/spin`);
    bridges.push(bridge);
    // SIGINT to gdb once the guest is seen counting, i.e. gdb's continue is under way.
    let gdbDone = false;
    const counting = (async () => {
      const counter = () => mount.ok('od -An -tx8 -j 0x5000 -N 8 "$M/spin/memory"');
      const first = await counter();
      while (!gdbDone && await counter() === first) await new Promise((resolve) => setTimeout(resolve, 50 * slowdown));
    })().catch(() => undefined); // the VM is gone once gdb killed it
    const out = await gdbBatch(port, ['continue', 'p/x $pc', 'kill'], { interruptWhen: counting, timeoutMs: GDB_TIMEOUT_MS });
    gdbDone = true;
    expect(out).toContain('Program received signal SIGINT, Interrupt.');
    const pc = Number(/\$1 = (0x[0-9a-f]+)/.exec(out)?.[1]);
    expect(pc).toBeGreaterThanOrEqual(0x1003);
    expect(pc).toBeLessThanOrEqual(0x100e);
    expect(out).toContain('[Inferior 1 (Remote target) killed]');
    await new Promise((resolve) => (bridge.exitCode === null ? bridge.once('exit', resolve) : resolve(undefined)));
    expect((await mount.sh('test -e "$M/spin"')).code).not.toBe(0);
  });

  it('real mode, as i8086: 16-bit code, stepi', async () => {
    await realModeVm(mount, 'rm', steps16);
    const { bridge, port } = await startBridge(`${mount.dir}/rm`);
    bridges.push(bridge);
    const out = await gdbBatch(port, ['x/3i $pc', 'stepi', 'stepi', 'info registers eip eax', 'detach'], { before: ['set architecture i8086'], timeoutMs: GDB_TIMEOUT_MS });
    expect(out).toMatch(/=> 0x1000:\s+mov\s+\$0x1,%ax\n\s+0x1003:\s+inc\s+%ax\n\s+0x1004:\s+add\s+%ax,%ax/);
    expect(out).toMatch(/^eip\s+0x1004\s/m);
    expect(out).toMatch(/^eax\s+0x2\s/m);
  });
});
