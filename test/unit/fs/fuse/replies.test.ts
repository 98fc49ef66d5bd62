// The replies kvmfs writes to /dev/fuse, pinned to <linux/fuse.h> (sizes and
// offsets checked with a C program, as in protocol.test.ts): each read back
// byte by byte.
import { describe, expect, it } from 'vitest';
import { FOPEN_DIRECT_IO, initFlags, initFlags2 } from '../../../../src/fs/fuse/protocol.js';
import {
  attrOut, dirents, DT_DIR, DT_REG, entryOut, initOut, type DirEntry, type NodeAttr, openOut, reply, statfsOut, writeOut, writeOutHeader,
} from '../../../../src/fs/fuse/replies.js';
import { i32, text, u16, u32, u64, utf8 } from './wire.js';

describe('replies', () => {
  it.each<[string, number, Uint8Array | undefined, number, number]>([
    ['success without payload', 0, undefined, 16, 0],
    ['error (stored negative)', 2, undefined, 16, -2],
    ['success with payload', 0, Uint8Array.of(1, 2, 3, 4, 5), 21, 0],
    ['large errno', 95, undefined, 16, -95],
  ])('reply: %s', (_, error, payload, length, stored) => {
    const out = reply(0x8000_0000_0000_0001n, error, payload);
    expect(out).toHaveLength(length);
    expect(u32(out, 0)).toBe(length);
    expect(i32(out, 4)).toBe(stored);
    expect(u64(out, 8)).toBe(0x8000_0000_0000_0001n);
    expect(Array.from(out.subarray(16))).toEqual(Array.from(payload ?? []));
  });

  it('writeOutHeader writes into a view that does not start its buffer', () => {
    const buffer = new Uint8Array(40).fill(0xff);
    writeOutHeader(buffer.subarray(8, 24), 42n, 13, 32);
    expect(Array.from(buffer.subarray(0, 8))).toEqual(Array(8).fill(0xff));
    expect([u32(buffer, 8), i32(buffer, 12), u64(buffer, 16)]).toEqual([32, -13, 42n]);
    expect(Array.from(buffer.subarray(24))).toEqual(Array(16).fill(0xff));
  });

  const attr: NodeAttr = {
    ino: 0x1_0000_0007, size: 1000, mode: 0o100644, nlink: 1, uid: 1000, gid: 1001,
    mtime: new Date(1_700_000_000_123), ctime: new Date(1_600_000_000_456),
  };
  // fuse_attr: [name, offset, width, value]
  const attrFields: Array<[string, number, 32 | 64, number | bigint]> = [
    ['ino', 0, 64, 0x1_0000_0007n],
    ['size', 8, 64, 1000n],
    ['blocks', 16, 64, 2n], // 512-byte blocks, rounded up
    ['atime', 24, 64, 1_700_000_000n], // shown as mtime
    ['mtime', 32, 64, 1_700_000_000n],
    ['ctime', 40, 64, 1_600_000_000n],
    ['atimensec', 48, 32, 123_000_000],
    ['mtimensec', 52, 32, 123_000_000],
    ['ctimensec', 56, 32, 456_000_000],
    ['mode', 60, 32, 0o100644],
    ['nlink', 64, 32, 1],
    ['uid', 68, 32, 1000],
    ['gid', 72, 32, 1001],
    ['rdev', 76, 32, 0],
    ['blksize', 80, 32, 4096],
    ['flags', 84, 32, 0],
  ];
  const readField = (bytes: Uint8Array, at: number, width: 32 | 64) => (width === 64 ? u64(bytes, at) : u32(bytes, at));

  it.each(attrFields)('entryOut: fuse_attr.%s at 40 + %i', (_, offset, width, value) => {
    expect(readField(entryOut(attr), 40 + offset, width)).toBe(value);
  });

  it('entryOut: 128 bytes, nodeid@0, generation and zero validity (entry and attr) before the attr', () => {
    const out = entryOut(attr);
    expect(out).toHaveLength(128);
    expect(u64(out, 0)).toBe(0x1_0000_0007n);
    expect(Array.from(out.subarray(8, 40))).toEqual(Array(32).fill(0));
  });

  it('entryOut: entry_valid@16 and attr_valid@24 in seconds, their nanoseconds 0', () => {
    const out = entryOut({ ...attr, attrValid: 60 }, 3600);
    expect(u64(out, 16)).toBe(3600n);
    expect(u64(out, 24)).toBe(60n);
    expect(Array.from(out.subarray(32, 40))).toEqual(Array(8).fill(0));
  });

  it('attrOut: attr_valid@0 in seconds', () => {
    const out = attrOut({ ...attr, attrValid: 60 });
    expect(u64(out, 0)).toBe(60n);
    expect(Array.from(out.subarray(8, 16))).toEqual(Array(8).fill(0));
  });

  it.each(attrFields)('attrOut: fuse_attr.%s at 16 + %i', (_, offset, width, value) => {
    expect(readField(attrOut(attr), 16 + offset, width)).toBe(value);
  });

  it('attrOut: 104 bytes, zero attr_valid before the attr', () => {
    const out = attrOut(attr);
    expect(out).toHaveLength(104);
    expect(Array.from(out.subarray(0, 16))).toEqual(Array(16).fill(0));
  });

  it.each([
    ['empty', 0, 0],
    ['exactly one block', 512, 1],
    ['one byte over', 513, 2],
  ])('fuse_attr.blocks of a %s file', (_, size, blocks) => {
    expect(u64(attrOut({ ...attr, size }), 16 + 16)).toBe(BigInt(blocks));
  });

  it('openOut: 16 bytes, fh@0 open_flags@8', () => {
    const out = openOut(2 ** 40 + 3, FOPEN_DIRECT_IO);
    expect(out).toHaveLength(16);
    expect([u64(out, 0), u32(out, 8), u32(out, 12)]).toEqual([2n ** 40n + 3n, 1, 0]);
  });

  it('writeOut: 8 bytes, size@0', () => {
    const out = writeOut(4096);
    expect(out).toHaveLength(8);
    expect([u32(out, 0), u32(out, 4)]).toEqual([4096, 0]);
  });

  it('initOut: 64 bytes of fuse_init_out', () => {
    const flags = initFlags.ASYNC_READ | initFlags.BIG_WRITES | initFlags.MAX_PAGES;
    const out = initOut(flags, 1 << 20, 256);
    expect(out).toHaveLength(64);
    expect({
      major: u32(out, 0), minor: u32(out, 4), maxReadahead: u32(out, 8), flags: u32(out, 12),
      maxBackground: u16(out, 16), congestionThreshold: u16(out, 18), maxWrite: u32(out, 20), timeGran: u32(out, 24),
      maxPages: u16(out, 28), mapAlignment: u16(out, 30),
    }).toEqual({
      major: 7, minor: 31, maxReadahead: 0, flags, maxBackground: 16, congestionThreshold: 12, maxWrite: 1 << 20,
      timeGran: 1, maxPages: 256, mapAlignment: 0,
    });
    expect(Array.from(out.subarray(32))).toEqual(Array(32).fill(0));
  });

  it('initOut: flags2@32, for FUSE_INIT_EXT', () => {
    const out = initOut(initFlags.INIT_EXT, 1 << 20, 256, initFlags2.OVER_IO_URING);
    expect([u32(out, 12), u32(out, 32)]).toEqual([1 << 30, 1 << 9]);
  });

  it('statfsOut: 80 bytes of fuse_kstatfs, bsize@40 namelen@44 frsize@48, no blocks or files', () => {
    const out = statfsOut(255);
    expect(out).toHaveLength(80);
    expect([u32(out, 40), u32(out, 44), u32(out, 48)]).toEqual([4096, 255, 4096]);
    expect(Array.from(out.subarray(0, 40))).toEqual(Array(40).fill(0));
    expect(Array.from(out.subarray(52))).toEqual(Array(28).fill(0));
  });
});

describe('dirents', () => {
  interface Record { ino: number; off: number; type: number; name: string; nameLength: number; length: number; padding: number[] }

  /** Splits READDIR output into its fuse_dirent records. */
  function parse(bytes: Uint8Array): Record[] {
    const records: Record[] = [];
    for (let at = 0; at < bytes.length;) {
      const nameLength = u32(bytes, at + 16);
      const length = (24 + nameLength + 7) & ~7;
      records.push({
        ino: Number(u64(bytes, at)), off: Number(u64(bytes, at + 8)), type: u32(bytes, at + 20),
        name: text(bytes.subarray(at + 24, at + 24 + nameLength)), nameLength, length,
        padding: Array.from(bytes.subarray(at + 24 + nameLength, at + length)),
      });
      at += length;
    }
    return records;
  }

  const entry = (ino: number, name: string, type = DT_REG): DirEntry => ({ ino, name: utf8(name), type });
  const entries: DirEntry[] = [
    entry(1, '.', DT_DIR), // 32 bytes
    entry(1, '..', DT_DIR), // 32
    entry(3, 'vcpu0', DT_DIR), // 32
    entry(4, 'memory'), // 32
    entry(5, 'dirty_log_'), // 24 + 10 -> 40
    entry(6, 'régs'), // 24 + 5 bytes -> 32
  ];
  const total = 32 * 5 + 40;

  it('all entries when they fit: off of each is the index of the next', () => {
    const bytes = dirents(entries, 0, 4096);
    expect(bytes).toHaveLength(total);
    expect(parse(bytes).map(({ ino, off, type, name }) => [ino, off, type, name])).toEqual([
      [1, 1, DT_DIR, '.'], [1, 2, DT_DIR, '..'], [3, 3, DT_DIR, 'vcpu0'], [4, 4, DT_REG, 'memory'],
      [5, 5, DT_REG, 'dirty_log_'], [6, 6, DT_REG, 'régs'],
    ]);
  });

  it.each<[string, number, number, string[]]>([
    ['size fits exactly', 0, 96, ['.', '..', 'vcpu0']],
    ['a byte short of the next record', 0, 95, ['.', '..']],
    ['too small for the first record', 0, 31, []],
    ['continuing from an offset', 2, 4096, ['vcpu0', 'memory', 'dirty_log_', 'régs']],
    ['continuing, then cut short', 3, 72, ['memory', 'dirty_log_']],
    ['at the end', 6, 4096, []],
    ['past the end', 9, 4096, []],
  ])('%s (offset %i, size %i)', (_, offset, size, names) => {
    const records = parse(dirents(entries, offset, size));
    expect(records.map((record) => record.name)).toEqual(names);
    expect(records.map((record) => record.off)).toEqual(names.map((_name, i) => offset + i + 1));
  });

  it('reading in pieces, each from the last off, gives every entry once', () => {
    const names: string[] = [];
    for (let offset = 0, calls = 0; offset < entries.length && calls < 10; calls++) {
      const records = parse(dirents(entries, offset, 70));
      names.push(...records.map((record) => record.name));
      offset = records.at(-1)!.off;
    }
    expect(names).toEqual(entries.map((e) => text(e.name)));
  });

  it.each([
    ['a', 1, 32], ['abcdefg', 7, 32], ['abcdefgh', 8, 32], ['abcdefghi', 9, 40], ['é', 2, 32], ['€€€', 9, 40],
  ])('%j: namelen %i (bytes, not characters), record padded with zeros to %i', (name, nameLength, length) => {
    const bytes = dirents([entry(2, name)], 0, 4096);
    const [record] = parse(bytes);
    expect(bytes).toHaveLength(length);
    expect(record).toMatchObject({ name, nameLength });
    expect(record!.padding).toEqual(Array(length - 24 - nameLength).fill(0));
  });
});
