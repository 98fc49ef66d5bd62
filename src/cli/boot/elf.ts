// The part of an ELF file a loader needs: a freestanding 64-bit x86
// executable's entry point and its PT_LOAD segments, placed at their
// physical addresses (p_paddr). Pure: takes the file's bytes.

export interface LoadSegment {
  /** guest physical address */
  address: number;
  /** the bytes the file holds for it (p_filesz) */
  data: Uint8Array;
  /** its size in memory (p_memsz); past data it is zeros (.bss) */
  memorySize: number;
}

export interface Executable {
  entry: number;
  segments: LoadSegment[];
}

const ELF_MAGIC = 0x464c457f; // "\x7fELF", little-endian
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ET_EXEC = 2;
const EM_X86_64 = 62;
const PT_LOAD = 1;
const HEADER_SIZE = 64;
const PROGRAM_HEADER_SIZE = 56;

export class ElfError extends Error {
  constructor(reason: string) {
    super(`not a loadable 64-bit x86 ELF executable: ${reason}`);
    this.name = 'ElfError';
  }
}

/** A 64-bit field as a Number; addresses and sizes past 2^53 are refused. */
function u64(view: DataView, offset: number, what: string): number {
  const value = view.getBigUint64(offset, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`${what} 0x${value.toString(16)} is too large`);
  return Number(value);
}

export function parseElf(file: Uint8Array): Executable {
  if (file.length < HEADER_SIZE) throw new ElfError(`${file.length} bytes is shorter than an ELF header`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (view.getUint32(0, true) !== ELF_MAGIC) throw new ElfError('no ELF magic');
  if (view.getUint8(4) !== ELFCLASS64) throw new ElfError('not ELFCLASS64');
  if (view.getUint8(5) !== ELFDATA2LSB) throw new ElfError('not little-endian');
  if (view.getUint16(16, true) !== ET_EXEC) throw new ElfError('not ET_EXEC (a static, non-PIE executable)');
  if (view.getUint16(18, true) !== EM_X86_64) throw new ElfError('not EM_X86_64');
  const entry = u64(view, 24, 'entry point');
  const tableOffset = u64(view, 32, 'program header offset');
  const entrySize = view.getUint16(54, true);
  const count = view.getUint16(56, true);
  if (entrySize !== PROGRAM_HEADER_SIZE) throw new ElfError(`program headers of ${entrySize} bytes (expected ${PROGRAM_HEADER_SIZE})`);
  if (tableOffset + count * entrySize > file.length) throw new ElfError('program headers past the end of the file');
  const segments: LoadSegment[] = [];
  for (let index = 0; index < count; index++) {
    const at = tableOffset + index * entrySize;
    if (view.getUint32(at, true) !== PT_LOAD) continue;
    const offset = u64(view, at + 8, 'segment offset');
    const address = u64(view, at + 24, 'segment physical address');
    const fileSize = u64(view, at + 32, 'segment file size');
    const memorySize = u64(view, at + 40, 'segment memory size');
    if (offset + fileSize > file.length) throw new ElfError(`segment ${index} ends past the end of the file`);
    if (fileSize > memorySize) throw new ElfError(`segment ${index} holds more bytes than it takes in memory`);
    segments.push({ address, data: file.subarray(offset, offset + fileSize), memorySize });
  }
  if (segments.length === 0) throw new ElfError('no PT_LOAD segment');
  return { entry, segments };
}
