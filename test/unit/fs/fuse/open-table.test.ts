import { describe, expect, it } from 'vitest';
import { OpenTable, SLOTS, SNAPSHOT_SIZE } from '../../../../src/fs/fuse/open-table.js';

/** `length` bytes counting up from `start` (mod 256). */
const pattern = (length: number, start = 0) => Uint8Array.from({ length }, (_, i) => (start + i) & 0xff);
/** Byte equality, cheap on 32 KiB (a deep toEqual is not). */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

describe('OpenTable slots', () => {
  it('allocate gives distinct slots until all SLOTS are used, then undefined', () => {
    const table = new OpenTable();
    const slots = new Set<number>();
    for (let i = 0; i < SLOTS; i++) {
      const slot = table.allocate(i + 1);
      expect(slot).toBeDefined();
      slots.add(slot!);
    }
    expect(slots.size).toBe(SLOTS);
    expect(Math.min(...slots)).toBe(0);
    expect(Math.max(...slots)).toBe(SLOTS - 1);
    expect(table.allocate(1)).toBeUndefined();
  });

  it('release makes a slot reusable, in a full table', () => {
    const table = new OpenTable();
    for (let i = 0; i < SLOTS; i++) table.allocate(i + 1);
    table.release(17);
    expect(table.allocate(6)).toBe(17);
    expect(table.allocate(7)).toBeUndefined();
  });

  it.each([1, 42, 7, 2 ** 31 - 1])('key() reads back key %i', (key) => {
    const table = new OpenTable();
    table.allocate(99); // another slot in use
    const slot = table.allocate(key)!;
    expect(table.key(slot)).toBe(key);
  });

  it('key() of a slot never allocated, or released, is 0 (free)', () => {
    const table = new OpenTable();
    expect(table.key(0)).toBe(0);
    const slot = table.allocate(3)!;
    table.release(slot);
    expect(table.key(slot)).toBe(0);
  });

  it('a reallocated slot holds its new key', () => {
    const table = new OpenTable();
    const slot = table.allocate(3)!;
    table.release(slot);
    expect(table.allocate(8)).toBe(slot);
    expect(table.key(slot)).toBe(8);
  });
});

describe('OpenTable over a shared buffer (a reader thread)', () => {
  it('sees the keys and snapshots the main thread stored, and the main thread sees its snapshots', () => {
    const main = new OpenTable();
    const run = main.allocate(2)!;
    const regs = main.allocate(3)!;
    const memory = main.allocate(4)!;
    main.storeSnapshot(run, pattern(10));
    const reader = new OpenTable(main.buffer);
    expect(reader.buffer).toBe(main.buffer);
    expect([run, regs, memory].map((slot) => reader.key(slot))).toEqual([2, 3, 4]);
    const target = new Uint8Array(20);
    expect(reader.readSnapshot(run, 0, target)).toBe(10);
    expect(target.subarray(0, 10)).toEqual(pattern(10));

    reader.storeSnapshot(regs, pattern(30, 100));
    expect(main.readSnapshot(regs, 0, target)).toBe(20);
    expect(target).toEqual(pattern(20, 100));

    main.release(run);
    expect(reader.key(run)).toBe(0);
  });

  it('a reader hands out no slots: only the main thread allocates', () => {
    const main = new OpenTable();
    expect(new OpenTable(main.buffer).allocate(2)).toBeUndefined();
  });
});

describe('OpenTable snapshots', () => {
  const content = pattern(100, 1);

  it.each<[string, number, number, number]>([
    ['from 0, target larger', 0, 200, 100],
    ['from the middle', 40, 200, 60],
    ['from the last byte', 99, 200, 1],
    ['at the end: EOF', 100, 200, 0],
    ['past the end: EOF', 150, 200, 0],
    ['target smaller than the rest', 10, 16, 16],
    ['target exactly the rest', 36, 64, 64],
  ])('readSnapshot %s (offset %i, target %i) copies %i', (_, offset, targetSize, n) => {
    const table = new OpenTable();
    const slot = table.allocate(2)!;
    table.storeSnapshot(slot, content);
    const target = new Uint8Array(targetSize).fill(0xee);
    expect(table.readSnapshot(slot, offset, target)).toBe(n);
    expect(target.subarray(0, n)).toEqual(content.subarray(offset, offset + n));
    expect(target.subarray(n).every((byte) => byte === 0xee)).toBe(true);
  });

  it('no snapshot yet is undefined (a read must take one); an empty one reads as EOF', () => {
    const table = new OpenTable();
    const slot = table.allocate(2)!;
    expect(table.readSnapshot(slot, 0, new Uint8Array(8))).toBeUndefined();
    table.storeSnapshot(slot, new Uint8Array(0));
    expect(table.readSnapshot(slot, 0, new Uint8Array(8))).toBe(0);
  });

  it('a new snapshot replaces the last, also when shorter', () => {
    const table = new OpenTable();
    const slot = table.allocate(2)!;
    table.storeSnapshot(slot, pattern(50));
    table.storeSnapshot(slot, pattern(5, 200));
    const target = new Uint8Array(50);
    expect(table.readSnapshot(slot, 0, target)).toBe(5);
    expect(target.subarray(0, 5)).toEqual(pattern(5, 200));
  });

  it.each([0, 1, SLOTS - 1])('a snapshot longer than SNAPSHOT_SIZE is kept up to SNAPSHOT_SIZE (slot %i), not spilling over', (wanted) => {
    const table = new OpenTable();
    const slots = Array.from({ length: SLOTS }, () => table.allocate(1)!);
    const slot = slots[wanted]!;
    const neighbours = [slot - 1, slot + 1].filter((s) => s >= 0 && s < SLOTS);
    for (const other of neighbours) table.storeSnapshot(other, pattern(SNAPSHOT_SIZE, 77));
    const long = pattern(SNAPSHOT_SIZE + 100, 3);
    table.storeSnapshot(slot, long);
    const target = new Uint8Array(SNAPSHOT_SIZE + 100);
    expect(table.readSnapshot(slot, 0, target)).toBe(SNAPSHOT_SIZE);
    expect(same(target.subarray(0, SNAPSHOT_SIZE), long.subarray(0, SNAPSHOT_SIZE))).toBe(true);
    expect(table.readSnapshot(slot, SNAPSHOT_SIZE, target)).toBe(0);
    for (const other of neighbours) {
      expect(table.readSnapshot(other, 0, target)).toBe(SNAPSHOT_SIZE);
      expect(same(target.subarray(0, SNAPSHOT_SIZE), pattern(SNAPSHOT_SIZE, 77))).toBe(true);
    }
  });

  it('allocating a slot again drops its snapshot', () => {
    const table = new OpenTable();
    const slot = table.allocate(2)!;
    table.storeSnapshot(slot, pattern(64));
    table.release(slot);
    expect(table.allocate(3)).toBe(slot);
    expect(table.readSnapshot(slot, 0, new Uint8Array(64))).toBeUndefined();
  });
});

describe('OpenTable reads that may last (FUSE_INTERRUPT)', () => {
  it.each([1n, 0x1234n, 2n ** 31n + 6n, 2n ** 40n + 8n])('setBlocked then findBlocked(%i) finds the slot; ended, it does not', (unique) => {
    const table = new OpenTable();
    table.allocate(2);
    const slot = table.allocate(3)!;
    table.setBlocked(slot, unique);
    expect(table.findBlocked(unique)).toBe(slot);
    expect(table.findBlocked(unique + 2n)).toBeUndefined();
    table.setBlocked(slot, undefined);
    expect(table.findBlocked(unique)).toBeUndefined();
  });

  it('the main thread sees a read a reader thread marked', () => {
    const main = new OpenTable();
    const slot = main.allocate(2)!;
    new OpenTable(main.buffer).setBlocked(slot, 10n);
    expect(main.findBlocked(10n)).toBe(slot);
  });

  it('a released or reallocated slot has no read in progress', () => {
    const table = new OpenTable();
    const slot = table.allocate(2)!;
    table.setBlocked(slot, 10n);
    table.release(slot);
    expect(table.findBlocked(10n)).toBeUndefined();
    expect(table.allocate(2)).toBe(slot);
    expect(table.findBlocked(10n)).toBeUndefined();
  });
});
