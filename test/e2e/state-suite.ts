// The setup the regs and sregs suites (state*.test.ts) share: a mount with
// VM st and its vcpu0, a scratch directory outside the mount, and one-write
// helpers for vcpu0's files. Call it inside the suite's describe.
import { afterAll, beforeAll } from 'vitest';
import { Mount } from './harness.js';
import { PRINTF, q, scratchDir } from './assert-helpers.js';

export type Scratch = ReturnType<typeof scratchDir>;

/** Registers the suite's hooks; `started` hands the mount and scratch directory to the suite once they are up. */
export function stateSuite(started: (mount: Mount, scratch: Scratch) => void) {
  let mount: Mount;
  let scratch: Scratch;
  const V = '"$M/st"';
  const C = '"$M/st/vcpu0"';

  async function regs(): Promise<string> { return mount.ok(`cat ${C}/regs`); }
  async function sregs(): Promise<string> { return mount.ok(`cat ${C}/sregs`); }

  /** Writes `text` to vcpu0/`file` with one write(2) (coreutils printf through a %s, so nothing is interpreted). */
  async function write(file: 'regs' | 'sregs', text: string): Promise<void> {
    await mount.ok(`${PRINTF} %s ${q(text)} > ${C}/${file}`);
  }

  beforeAll(async () => {
    scratch = scratchDir();
    mount = await Mount.start();
    await mount.ok(`mkdir ${V} ${V}/vcpu0`);
    started(mount, scratch);
  });
  afterAll(async () => {
    await mount.stop();
    scratch.remove();
  });
  return { V, C, regs, sregs, write };
}
