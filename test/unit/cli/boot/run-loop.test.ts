// The run loop over a stand-in directory: plain files where the mount has
// `run` and `console` (a plain file reads the same at offset 0 every time,
// so each case is one exit).
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runUntilShutdown } from '../../../../src/cli/boot/run-loop.js';
import { scratchDir } from '../../../e2e/assert-helpers.js';

describe('runUntilShutdown', () => {
  let scratch: ReturnType<typeof scratchDir> | undefined;
  afterEach(() => scratch?.remove());

  function vm(exit: string, console: string): string {
    scratch = scratchDir();
    mkdirSync(`${scratch.dir}/vcpu0`);
    writeFileSync(`${scratch.dir}/vcpu0/run`, `${exit}\n`);
    writeFileSync(`${scratch.dir}/console`, console);
    return scratch.dir;
  }

  it('ends at a write to the shutdown port with its status, after printing the whole console', async () => {
    const printed: Buffer[] = [];
    const ending = await runUntilShutdown({
      vm: vm('io out port=0x00f4 size=1 count=1 data=0x03', 'task A: step 0\ntask B: step 0\n'),
      shutdownPort: 0xf4, output: (bytes) => printed.push(Buffer.from(bytes)), note: () => {},
    });
    expect(ending).toEqual({ kind: 'shutdown', status: 3 });
    expect(Buffer.concat(printed).toString()).toBe('task A: step 0\ntask B: step 0\n');
  });

  it('ends at an exit it cannot handle, naming it', async () => {
    const ending = await runUntilShutdown({ vm: vm('shutdown', ''), shutdownPort: 0xf4, output: () => {}, note: () => {} });
    expect(ending).toEqual({ kind: 'stopped', exit: 'shutdown' });
  });
});
