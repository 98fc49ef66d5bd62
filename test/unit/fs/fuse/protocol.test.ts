// The FUSE wire format kvmfs speaks, pinned to <linux/fuse.h>: the sizes and
// offsets below were checked with a C program (sizeof/offsetof) including
// the header. Requests are built by hand with DataView; replies are read back
// byte by byte.
import { describe, expect, it } from 'vitest';
import {
  decodeRequest, decodeWhole, fattr, FOPEN_DIRECT_IO, IN_HEADER_SIZE, initFlags, IO_IN_SIZE,
  KERNEL_MINOR_VERSION, KERNEL_VERSION, opcode, opcodeName, OUT_HEADER_SIZE, ROOT_ID, splitRequest,
} from '../../../../src/fs/fuse/protocol.js';
import { ATTR_OUT_SIZE, DT_DIR, DT_REG, ENTRY_OUT_SIZE } from '../../../../src/fs/fuse/replies.js';
import { text, utf8, viewOf } from './wire.js';

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
