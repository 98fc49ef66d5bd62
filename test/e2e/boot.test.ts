// kvmfs boot end to end: the VMM on the files boots the shipped two-tasks
// guest (guests/two-tasks) on a real mount. The guest proves the whole
// path: long mode from the boot tables, the in-kernel PIC and PIT (its
// tasks switch only on timer interrupts), the console (its lines), and the
// shutdown port (the exit status).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, Mount, projectRoot } from './harness.js';

const GUEST = `${projectRoot}/guests/two-tasks/two-tasks.elf`;
const STEPS = 10;
const boot = (args: string) => `node ${cli} boot ${args}`;

describe('kvmfs boot', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  it('runs the two-tasks guest to its shutdown: both tasks print, switched by the timer, and it exits 0', async () => {
    const result = await mount.sh(`${boot(`${GUEST} "$M/two"`)}`, { timeoutMs: 60_000 });
    expect(result.stderr).toContain('kvmfs boot: the guest shut down with status 0 (port 0xf4)');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('two-tasks: starting');
    expect(lines.at(-1)).toMatch(/^two-tasks: both tasks done after \d+ ticks$/);
    const steps = lines.slice(1, -1).map((line) => /^task ([AB]): step (\d+)$/.exec(line));
    expect(steps.every((match) => match !== null), lines.join('\n')).toBe(true);
    // each task's steps in order, all of them
    for (const task of ['A', 'B']) {
      expect(steps.filter((match) => match![1] === task).map((match) => Number(match![2]))).toEqual([...Array(STEPS).keys()]);
    }
    // interleaved: a task waits for a tick after each line, and each tick switches tasks
    const switches = steps.slice(1).filter((match, i) => match![1] !== steps[i]![1]).length;
    expect(switches).toBeGreaterThanOrEqual(STEPS);
    // what was printed is what the VM's console holds; the VM stays for a look
    expect(await mount.ok('cat "$M/two/console"')).toBe(result.stdout);
    expect(await mount.ok('cat "$M/two/console_ports"')).toBe('0x00e9\n');
    expect(await mount.ok('cat "$M/two/irqchip"')).toBe('kernel\n');
  });

  it('refuses what is not a 64-bit ELF executable, and a VM that exists, making nothing', async () => {
    const notElf = await mount.sh(`${boot(`${projectRoot}/package.json "$M/junk"`)}`);
    expect(notElf.code).not.toBe(0);
    expect(notElf.stderr).toContain('not a loadable 64-bit x86 ELF executable: no ELF magic');
    expect((await mount.sh('[ -e "$M/junk" ]')).code).not.toBe(0);
    await mount.ok('mkdir "$M/taken"');
    const taken = await mount.sh(`${boot(`${GUEST} "$M/taken"`)}`);
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain('EEXIST');
    const tooSmall = await mount.sh(`${boot(`--memory 64K ${GUEST} "$M/small"`)}`);
    expect(tooSmall.stderr).toContain('ends past the guest\'s memory');
    expect((await mount.sh('[ -e "$M/small" ]')).code).not.toBe(0);
  });
});
