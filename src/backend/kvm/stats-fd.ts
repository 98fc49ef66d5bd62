// A KVM binary stats fd (KVM_GET_STATS_FD of a VM or a vcpu), as the KVM API
// doc lays it out: a header, then the descriptors (each 16 bytes and a
// name_size-byte name), then the data block of u64 values. Header and
// descriptors never change for the life of the fd, so they are read once;
// each snapshot preads the data block alone (it is read without locks,
// so a running vcpu is not disturbed).
import { check, close, libc } from './libc.js';
import type { Stat } from '../controller-types.js';

const pread = libc.func('intptr_t pread(int fd, void *buf, size_t count, int64_t offset)') as
  (fd: number, buf: Uint8Array, count: number, offset: number) => number;

const HEADER_SIZE = 24;
const DESCRIPTOR_SIZE = 16;

export interface StatDescriptor {
  name: string;
  flags: number;
  exponent: number;
  /** number of u64 values: 1, or the buckets of a histogram */
  size: number;
  /** byte offset of the values within the data block */
  offset: number;
  bucketSize: number;
}

export interface StatsLayout {
  descriptors: StatDescriptor[];
  dataOffset: number;
  /** bytes of the data block: up to the end of the last stat */
  dataSize: number;
}

/** The layout from the header's and the descriptors' bytes. */
export function decodeStatsHeader(header: DataView): { nameSize: number; count: number; descOffset: number; dataOffset: number } {
  return {
    nameSize: header.getUint32(4, true),
    count: header.getUint32(8, true),
    descOffset: header.getUint32(16, true),
    dataOffset: header.getUint32(20, true),
  };
}

export function decodeStatDescriptors(bytes: DataView, count: number, nameSize: number): StatDescriptor[] {
  return Array.from({ length: count }, (_, i) => {
    const at = i * (DESCRIPTOR_SIZE + nameSize);
    const name = new Uint8Array(bytes.buffer, bytes.byteOffset + at + DESCRIPTOR_SIZE, nameSize);
    const end = name.indexOf(0);
    return {
      flags: bytes.getUint32(at, true),
      exponent: bytes.getInt16(at + 4, true),
      size: bytes.getUint16(at + 6, true),
      offset: bytes.getUint32(at + 8, true),
      bucketSize: bytes.getUint32(at + 12, true),
      name: Buffer.from(name.subarray(0, end < 0 ? nameSize : end)).toString('latin1'),
    };
  });
}

/** Each stat's values out of the data block. */
export function decodeStatValues(data: DataView, descriptors: StatDescriptor[]): Stat[] {
  return descriptors.map((d) => ({
    name: d.name,
    values: Array.from({ length: d.size }, (_, i) => data.getBigUint64(d.offset + i * 8, true)),
  }));
}

export class StatsFd {
  private readonly data: Uint8Array;

  private constructor(readonly fd: number, readonly layout: StatsLayout) {
    this.data = new Uint8Array(layout.dataSize);
  }

  /** Takes ownership of `fd` and reads its header and descriptors; closes it if they cannot be read. */
  static open(fd: number): StatsFd {
    try {
      const header = readAt(fd, HEADER_SIZE, 0);
      const { nameSize, count, descOffset, dataOffset } = decodeStatsHeader(header);
      const descriptors = decodeStatDescriptors(readAt(fd, count * (DESCRIPTOR_SIZE + nameSize), descOffset), count, nameSize);
      const dataSize = Math.max(0, ...descriptors.map((d) => d.offset + d.size * 8));
      return new StatsFd(fd, { descriptors, dataOffset, dataSize });
    } catch (error) {
      close(fd);
      throw error;
    }
  }

  /** Every stat's current values: one pread of the data block. */
  read(): Stat[] {
    const got = check('pread stats', pread(this.fd, this.data, this.data.length, this.layout.dataOffset));
    if (got < this.data.length) throw new Error(`stats: short read of ${got} of ${this.data.length} bytes`);
    return decodeStatValues(new DataView(this.data.buffer, 0, this.data.length), this.layout.descriptors);
  }

  close(): void {
    close(this.fd);
  }
}

function readAt(fd: number, length: number, offset: number): DataView {
  const bytes = new Uint8Array(length);
  const got = check('pread stats', pread(fd, bytes, length, offset));
  if (got < length) throw new Error(`stats: short read of ${got} of ${length} bytes at ${offset}`);
  return new DataView(bytes.buffer);
}
