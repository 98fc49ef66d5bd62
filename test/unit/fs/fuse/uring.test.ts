// The FUSE over io_uring binding: the entry header's layout (struct
// fuse_uring_req_header, <linux/fuse.h>), the CPU list, and one real
// io_uring round trip. Serving a mount through it is tested end to end
// (test/e2e/transport.test.ts).
import { openSync, closeSync } from 'node:fs';
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ringHeader, sessionEnded } from '../../../../src/fs/fuse/ring-abi.js';
import { RingEntry } from '../../../../src/fs/fuse/uring.js';
import { parseCpuList } from '../../../../src/fs/fuse/cpus.js';

describe('fuse_uring_req_header', () => {
  it('in_out[128] @0, op_in[128] @128, fuse_uring_ent_in_out @256 (flags, commit_id, payload_sz @+16, padding, reserved): 288 bytes', () => {
    expect(ringHeader).toEqual({ inOut: 0, opIn: 128, entInOut: 256, payloadSize: 272, size: 288 });
  });
});

describe('parseCpuList', () => {
  it.each<[string, number[]]>([
    ['0\n', [0]],
    ['0-1\n', [0, 1]],
    ['0-3,8,10-11', [0, 1, 2, 3, 8, 10, 11]],
  ])('%j -> %j', (text, cpus) => {
    expect(parseCpuList(text)).toEqual(cpus);
  });

  it('rejects what is not a CPU list', () => {
    expect(() => parseCpuList('zero')).toThrow(/not a CPU list/);
  });
});

describe('sessionEnded', () => {
  const { ENOTCONN, ECONNABORTED, ECANCELED, EAGAIN, EINVAL } = constants.errno;
  it.each<[number, boolean]>([
    [-ENOTCONN, true], [-ECONNABORTED, true], [-ECANCELED, true], [-EAGAIN, false], [-EINVAL, false], [0, false],
  ])('%i -> %s', (result, ended) => {
    expect(sessionEnded(result)).toBe(ended);
  });
});

describe('RingEntry', () => {
  it('a REGISTER on a /dev/fuse with no mount behind it comes back through the io_uring at once, with an errno', () => {
    const fd = openSync('/dev/fuse', 'r+');
    const entry = RingEntry.open(fd, 0, 1 << 20);
    try {
      expect(entry.header).toHaveLength(ringHeader.size);
      expect(entry.payload).toHaveLength(1 << 20);
      expect(entry.register()).toBeLessThan(0);
    } finally {
      entry.close();
      closeSync(fd);
    }
  });
});
