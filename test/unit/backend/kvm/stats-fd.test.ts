// StatsFd on a file laid out as a KVM stats fd is: the header and the
// descriptors are read once, each read() preads the data block again.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import koffi from 'koffi';
import { kvm_stats_desc, kvm_stats_header } from '../../../../src/backend/kvm/abi-controllers.js';
import { StatsFd } from '../../../../src/backend/kvm/stats-fd.js';

const NAME_SIZE = 32;
const dir = mkdtempSync(join(tmpdir(), 'kvmfs-stats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function statsFile(values: bigint[]): Buffer {
  const header = Buffer.alloc(24);
  koffi.encode(header, kvm_stats_header, { flags: 0, name_size: NAME_SIZE, num_desc: 2, id_offset: 24, desc_offset: 24 + NAME_SIZE, data_offset: 24 + NAME_SIZE + 2 * (16 + NAME_SIZE) });
  const id = Buffer.alloc(NAME_SIZE);
  id.write('kvm-1/vcpu-0');
  const descriptor = (fields: object, name: string) => {
    const bytes = Buffer.alloc(16 + NAME_SIZE);
    koffi.encode(bytes, kvm_stats_desc, fields);
    bytes.write(name, 16);
    return bytes;
  };
  const data = Buffer.alloc(values.length * 8);
  values.forEach((value, i) => data.writeBigUInt64LE(value, i * 8));
  return Buffer.concat([
    header, id,
    descriptor({ flags: 0, exponent: 0, size: 2, offset: 8, bucket_size: 1 }, 'hist'),
    descriptor({ flags: 0, exponent: 0, size: 1, offset: 0, bucket_size: 0 }, 'io_exits'),
    data,
  ]);
}

describe('StatsFd', () => {
  it('reads the layout once and the data block on each read', () => {
    const path = join(dir, 'stats');
    writeFileSync(path, statsFile([3n, 10n, 11n]));
    const stats = StatsFd.open(openSync(path, 'r'));
    expect(stats.read()).toEqual([{ name: 'hist', values: [10n, 11n] }, { name: 'io_exits', values: [3n] }]);
    writeFileSync(path, statsFile([4n, 12n, 13n]));
    expect(stats.read()).toEqual([{ name: 'hist', values: [12n, 13n] }, { name: 'io_exits', values: [4n] }]);
    stats.close();
  });

  it('a file too short for its header fails, and the fd is closed', () => {
    const path = join(dir, 'short');
    writeFileSync(path, Buffer.alloc(10));
    const fd = openSync(path, 'r');
    expect(() => StatsFd.open(fd)).toThrow(/short read/);
    expect(() => closeSync(fd)).toThrow(/EBADF/);
  });
});
