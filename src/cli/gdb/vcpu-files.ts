// What the gdb bridge knows of a vcpu: only what its files in the mount
// show (<vm>/vcpuN/regs, sregs, fpu, debug, translate, run, stop, and
// <vm>/memory), read and written with node:fs like any program would.
import { readFile, writeFile, open } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** One line of a `name value` / `name field=value ...` file. */
export interface Line { value?: bigint; fields: Map<string, bigint> }
export type Lines = Map<string, Line>;

/** A vcpu's state files, parsed; fpu is undefined where the mount has no fpu file. */
export interface VcpuState { regs: Lines; sregs: Lines; fpu: Lines | undefined }

const PAGE = 0x1000n;

/** Parses the text of regs, sregs, fpu, ...: numbers where they parse, words ignored. */
export function parseLines(text: string): Lines {
  const lines: Lines = new Map();
  for (const raw of text.split('\n')) {
    const [name, ...rest] = raw.trim().split(/\s+/);
    if (!name) continue;
    const line: Line = { fields: new Map() };
    for (const token of rest) {
      const eq = token.indexOf('=');
      const number = (text: string) => (/^(0x[0-9a-f]+|[0-9]+)$/i.test(text) ? BigInt(text) : undefined);
      if (eq > 0) {
        const value = number(token.slice(eq + 1));
        if (value !== undefined) line.fields.set(token.slice(0, eq), value);
      } else {
        line.value ??= number(token);
      }
    }
    lines.set(name, line);
  }
  return lines;
}

/** The file operations the bridge makes; the tests give it a fake with the same shape. */
export interface VcpuAccess {
  read(file: string): Promise<string>;
  /** One write(2) of `text`: one change, or an error carrying the errno. */
  write(file: string, text: string): Promise<void>;
  has(file: string): boolean;
  readPhysical(gpa: bigint, length: number): Promise<Buffer>;
  writePhysical(gpa: bigint, data: Buffer): Promise<void>;
}

/** The real thing: files under <vm-dir>. */
export function mountAccess(vmDir: string, vcpu: number): VcpuAccess {
  const path = (file: string) => join(vmDir, `vcpu${vcpu}`, file);
  const memory = join(vmDir, 'memory');
  return {
    read: (file) => readFile(path(file), 'latin1'),
    write: (file, text) => writeFile(path(file), text),
    has: (file) => existsSync(path(file)),
    async readPhysical(gpa, length) {
      const handle = await open(memory, 'r');
      try {
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, Number(gpa));
        return buffer.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },
    async writePhysical(gpa, data) {
      const handle = await open(memory, 'r+');
      try {
        await handle.write(data, 0, data.length, Number(gpa));
      } finally {
        await handle.close();
      }
    },
  };
}

export async function readState(access: VcpuAccess): Promise<VcpuState> {
  const [regs, sregs, fpu] = await Promise.all([
    access.read('regs'), access.read('sregs'), access.has('fpu') ? access.read('fpu') : undefined,
  ]);
  return { regs: parseLines(regs), sregs: parseLines(sregs), fpu: fpu === undefined ? undefined : parseLines(fpu) };
}

/**
 * Guest virtual memory, page by page through `translate` and `memory`:
 * the bytes up to the first page that is not mapped (or not in RAM).
 */
export class VirtualMemory {
  constructor(private readonly access: VcpuAccess) {}

  async read(address: bigint, length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (const { gpa, length: size } of await this.pieces(address, length)) {
      const bytes = await this.access.readPhysical(gpa, size);
      parts.push(bytes);
      if (bytes.length < size) break;
    }
    return Buffer.concat(parts);
  }

  /** Writes all of `data` or throws before writing anything if a page is not mapped. */
  async write(address: bigint, data: Buffer): Promise<void> {
    const pieces = await this.pieces(address, data.length);
    if (pieces.reduce((sum, piece) => sum + piece.length, 0) < data.length) throw new Error(`no mapping at part of ${address.toString(16)}`);
    let offset = 0;
    for (const { gpa, length } of pieces) {
      await this.access.writePhysical(gpa, data.subarray(offset, offset + length));
      offset += length;
    }
  }

  /** The physical pieces of [address, address+length), up to the first unmapped page. */
  private async pieces(address: bigint, length: number): Promise<Array<{ gpa: bigint; length: number }>> {
    const pages: bigint[] = [];
    for (let page = address & ~(PAGE - 1n); page < address + BigInt(length); page += PAGE) pages.push(page);
    if (pages.length === 0) return [];
    await this.access.write('translate', pages.map((page) => `0x${page.toString(16)}\n`).join(''));
    const answers = parseTranslations(await this.access.read('translate'));
    const pieces: Array<{ gpa: bigint; length: number }> = [];
    for (const [i, page] of pages.entries()) {
      const answer = answers[i];
      if (!answer?.valid) break;
      const start = i === 0 ? address : page;
      const end = page + PAGE < address + BigInt(length) ? page + PAGE : address + BigInt(length);
      pieces.push({ gpa: answer.gpa + (start - page), length: Number(end - start) });
    }
    return pieces;
  }
}

function parseTranslations(text: string): Array<{ gpa: bigint; valid: boolean }> {
  return [...parseLines(text).values()].map((line) => ({ gpa: line.fields.get('gpa') ?? 0n, valid: line.fields.get('valid') === 1n }));
}
