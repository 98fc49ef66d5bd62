// The FUSE wire format kvmfs speaks, pinned to <linux/fuse.h>: the sizes and
// offsets below were checked with a C program (sizeof/offsetof) including
// the header. Requests are built by hand with DataView; replies are read back
// byte by byte.
import { describe, expect, it } from 'vitest';
import {
  decodeRequest, decodeWhole, fattr, FOPEN_DIRECT_IO, IN_HEADER_SIZE, initFlags, initFlags2, IO_IN_SIZE,
  KERNEL_MINOR_VERSION, KERNEL_VERSION, opcode, opcodeName, OUT_HEADER_SIZE, ROOT_ID, splitRequest,
} from '../../../../src/fs/fuse/protocol.js';
import {
  ATTR_OUT_SIZE, attrOut, dirents, DT_DIR, DT_REG, ENTRY_OUT_SIZE, entryOut, initOut, type DirEntry, type NodeAttr, openOut, reply,
  statfsOut, writeOut, writeOutHeader,
} from '../../../../src/fs/fuse/replies.js';

const viewOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const u16 = (bytes: Uint8Array, at: number) => viewOf(bytes).getUint16(at, true);
const u32 = (bytes: Uint8Array, at: number) => viewOf(bytes).getUint32(at, true);
const i32 = (bytes: Uint8Array, at: number) => viewOf(bytes).getInt32(at, true);
const u64 = (bytes: Uint8Array, at: number) => viewOf(bytes).getBigUint64(at, true);
const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A request: fuse_in_header then `body`, as /dev/fuse hands it over. */
function request(op: number, body: Uint8Array, nodeId = 5n, unique = 0x1122_3344_5566_7788n): Uint8Array {
  const bytes = new Uint8Array(IN_HEADER_SIZE + body.length);
  const view = viewOf(bytes);
  view.setUint32(0, bytes.length, true);
  view.setUint32(4, op, true);
  view.setBigUint64(8, unique, true);
  view.setBigUint64(16, nodeId, true);
  view.setUint32(24, 1000, true);
  view.setUint32(28, 1001, true);
  view.setUint32(32, 4242, true);
  view.setUint32(36, 0xdeadbeef, true); // padding: never read
  bytes.set(body, IN_HEADER_SIZE);
  return bytes;
}

/** A body of `size` bytes filled with 0xa5 (so misplaced reads show), then `fields` written at their offsets. */
function body(size: number, fields: Array<[offset: number, width: 16 | 32 | 64, value: number | bigint]>): Uint8Array {
  const bytes = new Uint8Array(size).fill(0xa5);
  const view = viewOf(bytes);
  for (const [offset, width, value] of fields) {
    if (width === 64) view.setBigUint64(offset, BigInt(value), true);
    else if (width === 32) view.setUint32(offset, Number(value), true);
    else view.setUint16(offset, Number(value), true);
  }
  return bytes;
}

describe('constants', () => {
  it.each([
    ['LOOKUP', 1], ['FORGET', 2], ['GETATTR', 3], ['SETATTR', 4], ['READLINK', 5], ['SYMLINK', 6], ['MKNOD', 8],
    ['MKDIR', 9], ['UNLINK', 10], ['RMDIR', 11], ['RENAME', 12], ['LINK', 13], ['OPEN', 14], ['READ', 15],
    ['WRITE', 16], ['STATFS', 17], ['RELEASE', 18], ['FSYNC', 20], ['SETXATTR', 21], ['GETXATTR', 22],
    ['LISTXATTR', 23], ['REMOVEXATTR', 24], ['FLUSH', 25], ['INIT', 26], ['OPENDIR', 27], ['READDIR', 28],
    ['RELEASEDIR', 29], ['FSYNCDIR', 30], ['ACCESS', 34], ['CREATE', 35], ['INTERRUPT', 36], ['DESTROY', 38],
    ['BATCH_FORGET', 42], ['RENAME2', 45],
  ] as const)('FUSE_%s = %i', (name, value) => {
    expect(opcode[name]).toBe(value);
  });

  it.each([
    ['sizeof(fuse_in_header)', IN_HEADER_SIZE, 40],
    ['sizeof(fuse_out_header)', OUT_HEADER_SIZE, 16],
    ['sizeof(fuse_entry_out)', ENTRY_OUT_SIZE, 128],
    ['sizeof(fuse_attr_out)', ATTR_OUT_SIZE, 104],
    ['sizeof(fuse_read_in) = sizeof(fuse_write_in)', IO_IN_SIZE, 40],
    ['FUSE_ASYNC_READ', initFlags.ASYNC_READ, 1],
    ['FUSE_BIG_WRITES', initFlags.BIG_WRITES, 32],
    ['FUSE_MAX_PAGES', initFlags.MAX_PAGES, 4194304],
    ['FOPEN_DIRECT_IO', FOPEN_DIRECT_IO, 1],
    ['FATTR_MODE', fattr.MODE, 1],
    ['FATTR_UID', fattr.UID, 2],
    ['FATTR_GID', fattr.GID, 4],
    ['FATTR_SIZE', fattr.SIZE, 8],
    ['FATTR_ATIME', fattr.ATIME, 16],
    ['FATTR_MTIME', fattr.MTIME, 32],
    ['DT_DIR', DT_DIR, 4],
    ['DT_REG', DT_REG, 8],
    ['FUSE_ROOT_ID', ROOT_ID, 1],
    ['protocol major version', KERNEL_VERSION, 7],
    ['protocol minor version', KERNEL_MINOR_VERSION, 31],
  ])('%s = %i', (_name, actual, expected) => {
    expect(actual).toBe(expected);
  });
});

describe('opcode names (--debug)', () => {
  it.each([[1, 'LOOKUP'], [15, 'READ'], [26, 'INIT'], [36, 'INTERRUPT'], [45, 'RENAME2'], [99, 'opcode 99']] as const)('%i is %s', (code, name) => {
    expect(opcodeName(code)).toBe(name);
  });
});

describe('decodeWhole: a request as /dev/fuse gives it, decoded once into a typed FuseRequest', () => {
  const header = { unique: 0x1122_3344_5566_7788n, nodeId: 5, uid: 1000, gid: 1001, pid: 4242 };

  it('fuse_in_header: opcode@4 unique@8 nodeid@16 uid@24 gid@28 pid@32, also when the request does not start its buffer', () => {
    const outer = new Uint8Array(8 + IN_HEADER_SIZE + 16);
    outer.set(request(opcode.GETATTR, new Uint8Array(16), 0x1_0000_0002n, 0xfedc_ba98_7654_3210n), 8);
    expect(decodeWhole(outer.subarray(8))).toEqual({
      opcode: 3, unique: 0xfedc_ba98_7654_3210n, nodeId: 0x1_0000_0002, uid: 1000, gid: 1001, pid: 4242, op: 'OTHER', name: 'GETATTR',
    });
  });

  it.each<[string, number, number, string, string]>([
    ['LOOKUP: the name is the body', opcode.LOOKUP, 0, 'vm0\0', 'vm0'],
    ['RMDIR', opcode.RMDIR, 0, 'vm0\0', 'vm0'],
    ['MKDIR: after fuse_mkdir_in (8)', opcode.MKDIR, 8, 'vcpu1\0', 'vcpu1'],
    ['CREATE: after fuse_create_in (16)', opcode.CREATE, 16, 'new\0', 'new'],
    ['MKNOD: after fuse_mknod_in (16)', opcode.MKNOD, 16, 'fifo\0', 'fifo'],
    ['RENAME: the old name, after fuse_rename_in (8)', opcode.RENAME, 8, 'old\0newer\0', 'old'],
    ['RENAME2: the old name, after fuse_rename2_in (16)', opcode.RENAME2, 16, 'old\0newer\0', 'old'],
    ['LINK: after fuse_link_in (8)', opcode.LINK, 8, 'memory2\0', 'memory2'],
    ['SYMLINK: the new name first', opcode.SYMLINK, 0, 'link\0/etc/passwd\0', 'link'],
    ['no NUL: the rest of the body', opcode.LOOKUP, 0, 'plain', 'plain'],
    ['non-ASCII bytes as they are', opcode.LOOKUP, 0, 'vé€\0', 'vé€'],
  ])('%s', (_, op, inSize, names, name) => {
    const bytes = new Uint8Array(inSize + utf8(names).length).fill(0xa5, 0, inSize);
    bytes.set(utf8(names), inSize);
    const decoded = decodeWhole(request(op, bytes));
    expect(decoded).toMatchObject({ ...header, opcode: op, op: opcodeName(op) });
    expect(text((decoded as { name: Uint8Array }).name)).toBe(name);
  });

  it.each([
    ['READ', opcode.READ, 0],
    ['WRITE (data follows)', opcode.WRITE, 300],
  ])('%s: fh@0 offset@8 size@16 of fuse_read_in / fuse_write_in', (_, op, dataLength) => {
    const io = body(IO_IN_SIZE + dataLength, [[0, 64, 2 ** 40 + 17], [8, 64, 0x1_0000_1000], [16, 32, dataLength || 131072]]);
    const decoded = decodeWhole(request(op, io));
    expect(decoded).toMatchObject({ op: opcodeName(op), fh: 2 ** 40 + 17, offset: 0x1_0000_1000, size: dataLength || 131072 });
    if (decoded.op === 'WRITE') expect(decoded.data).toEqual(io.subarray(IO_IN_SIZE));
  });

  it('OPEN: flags@0; RELEASE: fh@0; READDIR: offset@8 size@16; INTERRUPT: the target unique@0', () => {
    expect(decodeWhole(request(opcode.OPEN, body(8, [[0, 32, 0o1101]])))).toMatchObject({ op: 'OPEN', flags: 0o1101 });
    expect(decodeWhole(request(opcode.RELEASE, body(24, [[0, 64, 2 ** 40 + 3]])))).toMatchObject({ op: 'RELEASE', fh: 2 ** 40 + 3 });
    expect(decodeWhole(request(opcode.READDIR, body(40, [[8, 64, 2], [16, 32, 4096]])))).toMatchObject({ op: 'READDIR', offset: 2, size: 4096 });
    expect(decodeWhole(request(opcode.INTERRUPT, body(8, [[0, 64, 0x1_0000_0009n]])))).toMatchObject({ op: 'INTERRUPT', target: 0x1_0000_0009n });
  });

  it('SETATTR: fuse_setattr_in valid@0 size@16 mode@68 uid@76 gid@80', () => {
    const setattr = body(88, [
      [0, 32, fattr.SIZE | fattr.MODE], [4, 32, 0], [8, 64, 123n], [16, 64, 0x2_0000_0000], [68, 32, 0o100600],
      [72, 32, 0], [76, 32, 1000], [80, 32, 1001],
    ]);
    expect(decodeWhole(request(opcode.SETATTR, setattr))).toMatchObject({
      op: 'SETATTR', set: { valid: 9, size: 0x2_0000_0000, mode: 0o100600, uid: 1000, gid: 1001 },
    });
  });

  it('FORGET forgets the header node by fuse_forget_in.nlookup@0', () => {
    expect(decodeWhole(request(opcode.FORGET, body(8, [[0, 64, 3]]), 12n))).toMatchObject({ op: 'FORGET', forgets: [{ nodeId: 12, lookups: 3 }] });
  });

  it.each<[string, Array<[number, number]>]>([
    ['none', []],
    ['one', [[7, 1]]],
    ['several', [[7, 1], [8, 20], [0x1_0000_0000, 3]]],
  ])('BATCH_FORGET with %s: count@0, then {nodeid, nlookup} from 8', (_, pairs) => {
    const forgets = body(8 + pairs.length * 16, [
      [0, 32, pairs.length], [4, 32, 0],
      ...pairs.flatMap(([id, n], i): Array<[number, 64, number]> => [[8 + i * 16, 64, id], [16 + i * 16, 64, n]]),
    ]);
    expect(decodeWhole(request(opcode.BATCH_FORGET, forgets, 0n))).toMatchObject({
      op: 'BATCH_FORGET', forgets: pairs.map(([nodeId, lookups]) => ({ nodeId, lookups })),
    });
  });

  it.each<[string, number, number]>([
    ['flags2@16 with INIT_EXT (bit 30) in flags', 0x73fffffb, 0x200],
    ['flags2 ignored without INIT_EXT', 0x33fffffb, 0],
  ])('INIT: fuse_init_in major@0 minor@4 max_readahead@8 flags@12, %s', (_, flags, flags2) => {
    const init = body(64, [[0, 32, 7], [4, 32, 38], [8, 32, 131072], [12, 32, flags], [16, 32, 0x200]]);
    expect(decodeWhole(request(opcode.INIT, init))).toMatchObject({ op: 'INIT', init: { major: 7, minor: 38, maxReadahead: 131072, flags, flags2 } });
  });

  it('an opcode kvmfs does not answer is OTHER, named', () => {
    expect(decodeWhole(request(opcode.GETXATTR, body(8, []), 5n))).toMatchObject({ op: 'OTHER', name: 'GETXATTR' });
    expect(decodeWhole(request(99, new Uint8Array(0)))).toMatchObject({ op: 'OTHER', name: 'opcode 99' });
  });

  it('a ring entry\'s three parts (header, op_in, payload) decode as the whole request does', () => {
    const io = body(IO_IN_SIZE + 5, [[0, 64, 9], [8, 64, 4096], [16, 32, 5]]);
    const whole = request(opcode.WRITE, io);
    const [head, opIn, payload] = splitRequest(whole);
    expect([head.length, opIn.length, payload.length]).toEqual([IN_HEADER_SIZE, IO_IN_SIZE, 5]);
    expect(decodeRequest(whole.slice(0, IN_HEADER_SIZE), whole.slice(IN_HEADER_SIZE, IN_HEADER_SIZE + IO_IN_SIZE), whole.slice(IN_HEADER_SIZE + IO_IN_SIZE)))
      .toEqual(decodeWhole(whole));
  });
});

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
