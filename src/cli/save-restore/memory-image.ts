// Guest memory in a save: a sparse file as large as the VM's memory, with
// each saved page at its guest physical address and every all-zero page
// left a hole; memory.ranges says which pages the image holds (an
// increment's ranges include dirty pages that became all zero, which
// restore must write as zeros).
import { closeSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { PAGE_SIZE, type Range } from './manifest.js';
import type { BlockHandle } from './mount-files.js';

/** Memory moves in pieces of this size: large reads and writes through FUSE, bounded buffers. */
const CHUNK = 1 << 20;
const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

/** The runs of set bits of a dirty_log bitmap (bit n%8 of byte n/8 = page n) among its first `pages`, as byte ranges. */
export function dirtyRanges(bitmap: Buffer, pages: number): Range[] {
  const runs = new RangeBuilder();
  for (let byte = 0; byte < bitmap.length && byte * 8 < pages; byte++) {
    const bits = bitmap[byte]!;
    if (bits === 0) continue;
    for (let bit = 0; bit < 8; bit++) {
      const page = byte * 8 + bit;
      if (page < pages && bits & (1 << bit)) runs.add(page * PAGE_SIZE, PAGE_SIZE);
    }
  }
  return runs.ranges;
}

/** Collects byte ranges added in ascending order, joining those that touch. */
class RangeBuilder {
  readonly ranges: Range[] = [];

  add(gpa: number, length: number): void {
    const last = this.ranges[this.ranges.length - 1];
    if (last && last[0] + last[1] === gpa) last[1] += length;
    else this.ranges.push([gpa, length]);
  }
}

/** `length` bytes from `gpa` in pieces of at most CHUNK: [gpa, length] of each. */
function* pieces([gpa, length]: Range): Generator<Range> {
  for (let done = 0; done < length; done += CHUNK) yield [gpa + done, Math.min(CHUNK, length - done)];
}

export interface ImageSummary {
  /** The ranges the image holds. */
  ranges: Range[];
  /** Pages actually written into the image (the others of `ranges` were all zero: holes). */
  pagesWritten: number;
}

/**
 * Copies memory into a new sparse image at `imagePath`: every non-zero page
 * of all of memory (`from` undefined: a full save, whose ranges are those
 * pages), or the pages of `from` (an increment: the dirty pages, all of them
 * in the ranges, the all-zero ones left holes).
 */
export function writeImage(memory: BlockHandle, memorySize: number, imagePath: string, from: Range[] | undefined): ImageSummary {
  const image = openSync(imagePath, 'w');
  const ranges = new RangeBuilder();
  let pagesWritten = 0;
  const buffer = Buffer.alloc(CHUNK);
  try {
    for (const range of from ?? [[0, memorySize] as Range]) {
      for (const [gpa, length] of pieces(range)) {
        const chunk = buffer.subarray(0, length);
        if (memory.readAt(chunk, gpa) !== length) throw new Error(`memory ended before 0x${(gpa + length).toString(16)}: it is smaller than its size said`);
        for (let at = 0; at < length; at += PAGE_SIZE) {
          const page = chunk.subarray(at, at + PAGE_SIZE);
          const zero = page.equals(ZERO_PAGE);
          if (!zero) {
            writeSync(image, page, 0, PAGE_SIZE, gpa + at);
            pagesWritten++;
          }
          if (from || !zero) ranges.add(gpa + at, PAGE_SIZE);
        }
      }
    }
    ftruncateSync(image, memorySize); // the end of memory a hole too
  } finally {
    closeSync(image);
  }
  return { ranges: ranges.ranges, pagesWritten };
}

/** Writes the `ranges` of the image at `imagePath` into memory, at the same addresses. */
export function applyImage(imagePath: string, ranges: Range[], memory: BlockHandle): void {
  const image = openSync(imagePath, 'r');
  const buffer = Buffer.alloc(CHUNK);
  try {
    for (const range of ranges) {
      for (const [gpa, length] of pieces(range)) {
        const chunk = buffer.subarray(0, length);
        // A hole reads as zeros; the image is as large as memory, so a short read means it was cut.
        if (readSync(image, chunk, 0, length, gpa) !== length) throw new Error(`${imagePath} ends before 0x${(gpa + length).toString(16)}`);
        memory.writeAt(chunk, gpa);
      }
    }
  } finally {
    closeSync(image);
  }
}
