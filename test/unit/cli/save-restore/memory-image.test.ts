import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyImage, dirtyRanges, writeImage } from '../../../../src/cli/save-restore/memory-image.js';
import type { BlockHandle } from '../../../../src/cli/save-restore/mount-files.js';

const PAGE = 4096;
const work = mkdtempSync(join(tmpdir(), 'kvmfs-image-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A BlockHandle over a buffer, counting the bytes written. */
function memoryOf(bytes: Buffer): BlockHandle & { written: number } {
  const handle = {
    written: 0,
    readAt: (target: Buffer, offset: number) => bytes.copy(target, 0, offset, Math.min(bytes.length, offset + target.length)),
    writeAt(source: Buffer, offset: number) {
      source.copy(bytes, offset);
      handle.written += source.length;
    },
    size: () => bytes.length,
    close: () => {},
  };
  return handle;
}

describe('dirtyRanges', () => {
  it.each([
    ['nothing dirty', [0, 0], 16, []],
    ['page 0', [0x01], 8, [[0, PAGE]]],
    ['pages 1-3 join', [0x0e], 8, [[PAGE, 3 * PAGE]]],
    ['a run across a byte', [0x80, 0x01], 16, [[7 * PAGE, 2 * PAGE]]],
    ['two runs', [0x05], 8, [[0, PAGE], [2 * PAGE, PAGE]]],
    ['bits past the memory ignored', [0xff], 3, [[0, 3 * PAGE]]],
    ['the 64-bit word 1 (dirty_log is little-endian words)', [0, 0, 0, 0, 0, 0, 0, 0, 0x20], 128, [[0x45 * PAGE, PAGE]]],
  ])('%s', (_, bytes, pages, ranges) => {
    expect(dirtyRanges(Buffer.from(bytes), pages)).toEqual(ranges);
  });
});

describe('writeImage and applyImage', () => {
  // 3 MiB (more than one 1 MiB piece): non-zero pages 1, 2 (a run), 300 and the last one
  const size = 3 << 20;
  const memory = Buffer.alloc(size);
  for (const page of [1, 2, 300, size / PAGE - 1]) memory.fill(page & 0xff || 0xee, page * PAGE, page * PAGE + PAGE);

  it('a full image holds the non-zero pages; the rest are holes', () => {
    const path = join(work, 'full');
    const summary = writeImage(memoryOf(memory), size, path, undefined);
    expect(summary.ranges).toEqual([[PAGE, 2 * PAGE], [300 * PAGE, PAGE], [size - PAGE, PAGE]]);
    expect(summary.pagesWritten).toBe(4);
    expect(readFileSync(path).equals(memory)).toBe(true);
    const stat = statSync(path);
    expect(stat.size).toBe(size);
    expect(stat.blocks * 512).toBeLessThan(size / 8); // sparse: 16 KiB of data, 3 MiB long
    const restored = Buffer.alloc(size);
    const copy = memoryOf(restored);
    applyImage(path, summary.ranges, copy);
    expect(copy.written).toBe(4 * PAGE); // only the saved pages go back
    expect(restored.equals(memory)).toBe(true);
  });

  it('an increment holds the pages asked for, an all-zero one as a hole that restore writes as zeros', () => {
    const path = join(work, 'increment');
    const dirty: Array<[number, number]> = [[0, 3 * PAGE], [300 * PAGE, PAGE]]; // page 0 is all zero
    const summary = writeImage(memoryOf(memory), size, path, dirty);
    expect(summary.ranges).toEqual(dirty);
    expect(summary.pagesWritten).toBe(3);
    const stale = Buffer.alloc(size, 0x77);
    applyImage(path, summary.ranges, memoryOf(stale));
    expect(stale.subarray(0, PAGE).equals(Buffer.alloc(PAGE))).toBe(true); // zeroed
    expect(stale.subarray(PAGE, 3 * PAGE).equals(memory.subarray(PAGE, 3 * PAGE))).toBe(true);
    expect(stale[3 * PAGE]).toBe(0x77); // not in the increment: untouched
  });

  it('memory shorter than it said is an error, not a short image', () => {
    expect(() => writeImage(memoryOf(Buffer.alloc(PAGE)), 2 * PAGE, join(work, 'short'), undefined)).toThrow('memory ended before 0x2000');
  });
});
