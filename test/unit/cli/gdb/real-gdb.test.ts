// The stock gdb against the bridge on a fake vcpu (fake-vcpu.ts): what a
// user types, and what gdb shows. test/e2e/gdb.test.ts does the same on a
// real mount.
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { serveGdb } from '../../../../src/cli/gdb/server.js';
import { FakeVcpu, type Mode } from './fake-vcpu.js';
import { gdbBatch, gdbMissing } from './gdb-batch.js';

const missing = gdbMissing();
let server: Server | undefined;
afterEach(() => server?.close());

async function bridge(mode: Mode, withFpu = false) {
  const fake = new FakeVcpu(mode, withFpu);
  const logs: string[] = [];
  server = await serveGdb(fake, { port: 0, host: '127.0.0.1', log: (line) => logs.push(line), destroy: async () => { fake.destroyed = true; } });
  return { fake, logs, port: (server.address() as { port: number }).port };
}

describe.skipIf(missing)('real gdb, fake vcpu', () => {
  it('long mode: registers, x/i, stepi, break + continue, watch, detach', async () => {
    const { port, fake } = await bridge('long', true);
    const out = await gdbBatch(port, [
      'info registers rip eflags cs fs_base cr0 efer', 'p $st0', 'p/x $xmm0.uint128', 'x/4i $pc', 'stepi', 'p/x $rax',
      'break *0x100a', 'watch *(long *)0x2000', 'continue', 'continue', 'p/x $pc', 'detach',
    ]);
    expect(out).toMatch(/^rip\s+0x1000\s/m);
    expect(out).toMatch(/^cs\s+0x8\s/m);
    expect(out).toMatch(/^fs_base\s+0x7000\s/m);
    expect(out).toMatch(/^efer\s+0x500\s/m);
    expect(out).toContain('$1 = 3.14159265358979311');
    expect(out).toContain('$2 = 0xdeadbeef');
    expect(out).toMatch(/=> 0x1000:\s+mov\s+\$0x2a,%rax\n\s+0x1007:\s+inc\s+%rax/);
    expect(out).toContain('$3 = 0x2a');
    expect(out).toMatch(/Hardware watchpoint 2: \*\(long \*\)0x2000\s+Old value = 0\s+New value = 43/);
    expect(out).toContain('Breakpoint 1, 0x000000000000100a in ?? ()');
    expect(out).toContain('$4 = 0x1012');
    expect(out).toContain('[Inferior 1 (Remote target) detached]');
    expect(fake.debug).toContain('hw0 off');
  });

  it('Ctrl-C stops a spinning guest', async () => {
    const { port, fake } = await bridge('long');
    const out = await gdbBatch(port, ['continue', 'p/x $pc', 'kill'], { interruptWhen: fake.spinning });
    expect(out).toContain('Program received signal SIGINT, Interrupt.');
    expect(out).toContain('$1 = 0x1012');
    expect(fake.destroyed).toBe(true);
  });

  it('real mode: set architecture i8086, 16-bit code, stepi, rwatch', async () => {
    const { port } = await bridge('real');
    const out = await gdbBatch(port, ['x/3i $pc', 'stepi', 'info registers eip eax', 'rwatch *(short *)0x2000', 'continue', 'detach'], { before: ['set architecture i8086'] });
    expect(out).toMatch(/=> 0x1000:\s+mov\s+\$0x2a,%ax\n\s+0x1003:\s+inc\s+%ax\n\s+0x1004:\s+mov\s+%ax,0x2000/);
    expect(out).toMatch(/^eip\s+0x1003\s/m);
    expect(out).toMatch(/^eax\s+0x2a\s/m);
    expect(out).toMatch(/Hardware read watchpoint 1: \*\(short \*\)0x2000\s+Value = 43/);
  });
});
