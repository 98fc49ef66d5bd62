// The three hello guests (real, protected and long mode), run to hlt through
// vcpu<N>/run. Only shell tools touch the mount.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, realModeVm } from './harness.js';
import * as guests from './guests.js';
import { loadVm, outBytes, reg, runUntilHlt } from './guests.js';
import { lines } from './assert-helpers.js';

describe('hello guests in three modes', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  async function greeting(vm: string): Promise<string> {
    const out = lines(await mount.ok(runUntilHlt(vm)));
    expect(out.at(-1)).toBe('hlt');
    for (const line of out.slice(0, -1)) expect(line).toMatch(/^io out port=0x00e9 size=1 count=1 data=0x[0-9a-f]{2}$/);
    return Buffer.from(outBytes(out)).toString('latin1');
  }

  it('real mode', async () => {
    await realModeVm(mount, 'real', guests.hello16);
    expect(await greeting('real')).toBe('Hello from real mode!\n');
  });

  it('32-bit protected mode, flat, paging off', async () => {
    await loadVm(mount, 'prot', guests.hello32, 'protected');
    expect(await greeting('prot')).toBe('Hello from protected mode!\n');
  });

  it('64-bit long mode with identity page tables written by dd', async () => {
    await loadVm(mount, 'long', guests.hello64, 'long');
    const sregs = await mount.ok('cat "$M/long/vcpu0/sregs"');
    expect(sregs).toMatch(/^efer 0x0000000000000500$/m);
    expect(sregs).toMatch(/^cs base=0x0000000000000000 .* l=1 /m);
    expect(await greeting('long')).toBe('Hello from long mode!\n');
    expect(reg(await mount.ok('cat "$M/long/vcpu0/regs"'), 'rip')).toBe(0x1014n);
  });
});
