// vcpu<N>/run: one KVM_RUN per read at offset 0, whatever the tool reads it
// with. Only shell tools touch the mount.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, realModeVm } from './harness.js';
import * as guests from './guests.js';

describe('run: one KVM_RUN per read at offset 0', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  const A = 'io out port=0x00e9 size=1 count=1 data=0x41\n';
  const B = 'io out port=0x00e9 size=1 count=1 data=0x42\n';
  const C = 'io out port=0x00e9 size=1 count=1 data=0x43\n';

  it('cat run runs exactly once: two cats, two exits', async () => {
    await realModeVm(mount, 'once', guests.threeOuts);
    expect(await mount.ok('cat "$M/once/vcpu0/run"')).toBe(A);
    expect(await mount.ok('cat "$M/once/vcpu0/run"')).toBe(B);
    expect(await mount.ok('cat "$M/once/vcpu0/run"')).toBe(C);
    expect(await mount.ok('cat "$M/once/vcpu0/run"')).toBe('hlt\n');
  });

  it('regs read again and again follow every run and every write (no stale copy)', async () => {
    await realModeVm(mount, 'fresh', guests.threeOuts);
    const out = await mount.ok(`
      rip() { grep '^rip' "$M/fresh/vcpu0/regs"; }
      rip; rip; cat "$M/fresh/vcpu0/run" > /dev/null; rip; rip
      echo 'rip 0x1000' > "$M/fresh/vcpu0/regs"; rip
      echo 'cs base=0x10 selector=1' > "$M/fresh/vcpu0/sregs"; rip
      echo 'rax 0x77' > "$M/fresh/vcpu0/regs"; grep '^rax' "$M/fresh/vcpu0/regs"`);
    const rips = out.trim().split('\n');
    expect(rips[0]).toBe(rips[1]);
    expect(rips[2]).toBe(rips[3]);
    expect(rips[2]).not.toBe(rips[1]);
    expect(rips[4]).toBe('rip 0x0000000000001000');
    expect(rips[5]).toBe('rip 0x0000000000001000');
    expect(rips[6]).toBe('rax 0x0000000000000077');
  });

  it('head -c 3 runs once; dd bs=1 reads one whole line of one run', async () => {
    await realModeVm(mount, 'part', guests.threeOuts);
    expect(await mount.ok('head -c 3 "$M/part/vcpu0/run"')).toBe('io ');
    expect(await mount.ok('cat "$M/part/vcpu0/run"')).toBe(B);
    expect(await mount.ok('dd if="$M/part/vcpu0/run" bs=1 status=none')).toBe(C);
    expect(await mount.ok('cat "$M/part/vcpu0/run"')).toBe('hlt\n');
  });

  it('reads past offset 0 on the same fd continue the snapshot, then EOF, without running', async () => {
    await realModeVm(mount, 'fd', guests.threeOuts);
    const out = await mount.ok(`
      exec 3< "$M/fd/vcpu0/run"
      head -c 10 <&3; echo '|'
      cat <&3; echo '|'
      cat <&3; echo '|'
      exec 3<&-
      cat "$M/fd/vcpu0/run"
    `);
    expect(out).toBe(`io out por|\nt=0x00e9 size=1 count=1 data=0x41\n|\n|\n${B}`);
  });

  it('a read on a fresh open of run after hlt runs again', async () => {
    await realModeVm(mount, 'again', guests.interrupt);
    // sti; hlt in a loop: every run is one hlt
    const out = await mount.ok('for i in 1 2 3; do cat "$M/again/vcpu0/run"; done');
    expect(out).toBe('hlt\nhlt\nhlt\n');
  });
});
