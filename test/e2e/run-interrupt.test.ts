// vcpu<N>/interrupt: a queued vector runs the guest's handler on the next
// run; bad vectors queue nothing. Only shell tools touch the mount.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, realModeVm } from './harness.js';
import * as guests from './guests.js';
import { lines } from './assert-helpers.js';

describe('interrupt', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  it('a queued vector runs the guest handler on the next run', async () => {
    await realModeVm(mount, 'irq', guests.interrupt);
    const out = await mount.ok(`
      V="$M/irq/vcpu0"
      cat "$V/run"
      echo 32 > "$V/interrupt"
      cat "$V/run"
      cat "$V/run"
      echo 0x20 > "$V/interrupt"
      cat "$V/run"
      cat "$V/run"
    `);
    expect(lines(out)).toEqual([
      'hlt',
      'io out port=0x00e9 size=1 count=1 data=0x01',
      'hlt',
      'io out port=0x00e9 size=1 count=1 data=0x02',
      'hlt',
    ]);
    expect(await mount.ok('od -An -tx1 -j $((0x2000)) -N 1 "$M/irq/memory"')).toBe(' 02\n');
  });

  it('256, -1 and junk are EINVAL and queue nothing; a blank write queues nothing and succeeds', async () => {
    await realModeVm(mount, 'irq2', guests.interrupt);
    expect(await mount.ok('cat "$M/irq2/vcpu0/run"')).toBe('hlt\n');
    for (const bad of ['256', '-1', 'junk', '0x100']) {
      const result = await mount.sh(`echo '${bad}' > "$M/irq2/vcpu0/interrupt"`);
      expect(result.code, `interrupt ${JSON.stringify(bad)}`).not.toBe(0);
      expect(result.stderr).toContain('Invalid argument');
      expect(await mount.ok('cat "$M/irq2/last_error"')).toMatch(/^vcpu0\/interrupt: /);
    }
    // a blank write is a no-op that succeeds, as on every file but stop and nmi (docs/interface.md, Principles)
    await mount.ok('echo > "$M/irq2/vcpu0/interrupt"');
    // nothing was queued: the guest just halts again
    expect(await mount.ok('cat "$M/irq2/vcpu0/run"')).toBe('hlt\n');
    await mount.ok('echo 32 > "$M/irq2/vcpu0/interrupt"');
    expect(await mount.ok('cat "$M/irq2/vcpu0/run"')).toBe('io out port=0x00e9 size=1 count=1 data=0x01\n');
  });
});
