// The read and write rules every thread serves files by (open-file.ts):
// a snapshot at offset 0, continued past it; one write, one change; an
// empty or whitespace-only write a no-op.
import { describe, expect, it } from 'vitest';
import { LocalSnapshot, MAX_TEXT_WRITE, readOpenFile, writeOpenFile } from '../../../src/fs/open-file.js';
import { offThreadAttributes as attr, type SnapshotFile } from '../../../src/fs/node.js';
import { errno } from '../../../src/fs/errors.js';

const bytes = (text: string) => Buffer.from(text);

/** A text file whose reads count up and whose writes are kept. */
type Counter = SnapshotFile & { renders: number; written: string[] };
function counter(extra: Partial<SnapshotFile> = {}): Counter {
  const file: Counter = {
    kind: 'snapshot', attr, renders: 0, written: [],
    read: (): string => `render ${++file.renders}\n`,
    write: (text: string) => { file.written.push(text); },
    ...extra,
  };
  return file;
}

describe('readOpenFile', () => {
  it('a read at offset 0 renders; reads past 0 continue that snapshot, then EOF', () => {
    const file = counter();
    const snapshot = new LocalSnapshot();
    const target = Buffer.alloc(4);
    expect(readOpenFile(file, snapshot, 0, target)).toBe(4);
    expect(target.toString()).toBe('rend');
    expect(readOpenFile(file, snapshot, 4, Buffer.alloc(100))).toBe(5);
    expect(readOpenFile(file, snapshot, 9, Buffer.alloc(100))).toBe(0);
    expect(file.renders).toBe(1);
    readOpenFile(file, snapshot, 0, target);
    expect(file.renders).toBe(2);
  });

  it('a first read past 0 (no snapshot yet) renders one', () => {
    const file = counter();
    const target = Buffer.alloc(100);
    expect(readOpenFile(file, new LocalSnapshot(), 2, target)).toBe(7);
    expect(target.subarray(0, 7).toString()).toBe('nder 1\n');
  });

  it('an async render resolves to the count', async () => {
    const file = counter({ read: async () => 'later' });
    await expect(readOpenFile(file, new LocalSnapshot(), 0, Buffer.alloc(10))).resolves.toBe(5);
  });

  it('a write-only file is EACCES', () => {
    expect(() => readOpenFile({ kind: 'snapshot', attr, write: () => {} }, new LocalSnapshot(), 0, Buffer.alloc(1))).toThrow(expect.objectContaining({ errno: errno.EACCES }));
  });
});

describe('writeOpenFile', () => {
  it.each(['', '\n', '  \n\t\n', ' '])('an empty or whitespace-only write (%j) succeeds and changes nothing', (text) => {
    const file = counter();
    const cursor = { end: 0 };
    expect(writeOpenFile(file, cursor, bytes(text), 0)).toBe(text.length);
    expect(file.written).toEqual([]);
    expect(cursor.end).toBe(text.length);
  });

  it('a file whose every write acts (stop) gets even an empty one', () => {
    const file = counter({ anyWrite: true });
    writeOpenFile(file, { end: 0 }, bytes('\n'), 0);
    expect(file.written).toEqual(['\n']);
  });

  it('a write starts at 0 or where the last one on the open file ended; elsewhere EINVAL', () => {
    const file = counter();
    const cursor = { end: 0 };
    writeOpenFile(file, cursor, bytes('rax 1\n'), 0);
    writeOpenFile(file, cursor, bytes('rbx 2\n'), 6);
    expect(file.written).toEqual(['rax 1\n', 'rbx 2\n']);
    expect(() => writeOpenFile(file, cursor, bytes('rcx 3\n'), 3)).toThrow(expect.objectContaining({ errno: errno.EINVAL }));
  });

  it(`a text write longer than ${MAX_TEXT_WRITE} bytes is EINVAL, nothing applied`, () => {
    const file = counter();
    expect(() => writeOpenFile(file, { end: 0 }, Buffer.alloc(MAX_TEXT_WRITE + 1, 0x41), 0)).toThrow(expect.objectContaining({ errno: errno.EINVAL }));
    expect(file.written).toEqual([]);
  });

  it('a block file takes any offset', () => {
    const seen: Array<[number, number]> = [];
    const block = {
      kind: 'block' as const, attr, size: () => 100, truncate: () => {}, readAt: () => 0,
      writeAt: (offset: number, source: Uint8Array) => { seen.push([offset, source.length]); return source.length; },
    };
    expect(writeOpenFile(block, { end: 0 }, Buffer.alloc(3), 77)).toBe(3);
    expect(seen).toEqual([[77, 3]]);
  });
});
