import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ElfError, parseElf } from '../../../../src/cli/boot/elf.js';
import { projectRoot } from '../../../e2e/harness.js';

const twoTasks = readFileSync(`${projectRoot}/guests/two-tasks/two-tasks.elf`);

describe('parseElf', () => {
  it('reads the two-tasks guest: its entry at 1 MiB and one PT_LOAD segment there, .bss past the file bytes', () => {
    const { entry, segments } = parseElf(twoTasks);
    expect(entry).toBe(0x100000);
    expect(segments).toHaveLength(1);
    expect(segments[0]!.address).toBe(0x100000);
    expect(segments[0]!.memorySize).toBeGreaterThan(segments[0]!.data.length);
    // the first instruction is _start's cli
    expect(segments[0]!.data[0]).toBe(0xfa);
  });

  const patched = (offset: number, bytes: number[]): Buffer => {
    const copy = Buffer.from(twoTasks);
    copy.set(bytes, offset);
    return copy;
  };

  it.each<[string, Uint8Array, string]>([
    ['too short', twoTasks.subarray(0, 10), '10 bytes is shorter than an ELF header'],
    ['no magic', patched(0, [0x7f, 0x45, 0x4c, 0x00]), 'no ELF magic'],
    ['32-bit', patched(4, [1]), 'not ELFCLASS64'],
    ['big-endian', patched(5, [2]), 'not little-endian'],
    ['PIE', patched(16, [3, 0]), 'not ET_EXEC (a static, non-PIE executable)'],
    ['another machine', patched(18, [183, 0]), 'not EM_X86_64'],
    ['headers past the end', patched(56, [0xff, 0x7f]), 'program headers past the end of the file'],
  ])('refuses %s', (_, file, reason) => {
    expect(() => parseElf(file)).toThrow(new ElfError(reason));
  });
});
