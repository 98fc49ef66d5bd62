// The console ring and port set (src/backend/console.ts), and the io out
// exits it consumes, over hand-built kvm_run pages.
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { Console, CONSOLE_CAPACITY } from '../../../src/backend/console.js';
import { KvmRunPage } from '../../../src/backend/kvm/kvm-run.js';

const IO_DATA = 4096;

/** A kvm_run page holding an io exit (direction 1 = out) with `bytes` as its data. */
function ioExit(direction: number, port: number, size: number, bytes: number[]): KvmRunPage {
  const view = new DataView(new ArrayBuffer(8192));
  view.setUint32(8, 2, true); // KVM_EXIT_IO
  view.setUint8(32, direction);
  view.setUint8(33, size);
  view.setUint16(34, port, true);
  view.setUint32(36, bytes.length / size, true);
  view.setBigUint64(40, BigInt(IO_DATA), true);
  bytes.forEach((byte, i) => view.setUint8(IO_DATA + i, byte));
  return new KvmRunPage(view);
}

function read(console: Console, offset: number, length: number): string {
  const target = new Uint8Array(length);
  return Buffer.from(target.subarray(0, console.readAt(offset, target))).toString('latin1');
}

describe('Console ports', () => {
  it('starts with none; a new set replaces the old one whole', () => {
    const console = new Console();
    expect(console.ports).toEqual([]);
    console.setPorts([0xe9, 0x3f8, 0, 0xffff]);
    expect(console.ports).toEqual([0, 0xe9, 0x3f8, 0xffff]);
    expect(console.hasPort(0xe9)).toBe(true);
    expect(console.hasPort(0xea)).toBe(false);
    console.setPorts([0x3f8]);
    expect(console.ports).toEqual([0x3f8]);
    expect(console.hasPort(0xe9)).toBe(false);
    // another thread's view sees the same set
    expect(new Console(console.buffer).ports).toEqual([0x3f8]);
  });
});

describe('Console.consume', () => {
  it('takes io out exits to a listed port, every element of every size (rep outsb, out %eax)', () => {
    const console = new Console();
    console.setPorts([0xe9]);
    expect(console.consume(ioExit(1, 0xe9, 1, [...Buffer.from('Hello')]))).toBe(true);
    expect(console.consume(ioExit(1, 0xe9, 4, [...Buffer.from('abcdefgh')]))).toBe(true);
    expect(read(console, 0, 100)).toBe('Helloabcdefgh');
    expect(console.size).toBe(13);
  });

  it('leaves every other exit to the reader of run', () => {
    const console = new Console();
    console.setPorts([0xe9]);
    expect(console.consume(ioExit(1, 0x80, 1, [7]))).toBe(false);
    expect(console.consume(ioExit(0, 0xe9, 1, [0]))).toBe(false); // io in
    const hlt = new DataView(new ArrayBuffer(8192));
    hlt.setUint32(8, 5, true);
    expect(console.consume(new KvmRunPage(hlt))).toBe(false);
    expect(console.size).toBe(0);
  });
});

describe('Console ring', () => {
  it('reads at any offset up to its size, then 0 (EOF)', () => {
    const console = new Console();
    console.append(Buffer.from('line 1\nline 2\n'));
    expect(read(console, 7, 100)).toBe('line 2\n');
    expect(read(console, 3, 2)).toBe('e ');
    expect(read(console, 14, 10)).toBe('');
    expect(read(console, 1000, 10)).toBe('');
  });

  it('keeps the last CONSOLE_CAPACITY bytes across the wrap; what came before reads as zeros', () => {
    const console = new Console();
    const chunk = Buffer.alloc(4096);
    let written = 0;
    for (let n = 0; written < CONSOLE_CAPACITY + 10_000; n++) {
      chunk.fill(n % 251);
      console.append(chunk);
      written += chunk.length;
    }
    expect(console.size).toBe(written);
    const keptFrom = written - CONSOLE_CAPACITY;
    const target = new Uint8Array(8);
    // straddling the start of the kept window: zeros, then the kept bytes
    expect(console.readAt(keptFrom - 4, target)).toBe(8);
    const chunkAt = (offset: number) => Math.floor(offset / 4096) % 251;
    expect([...target]).toEqual([0, 0, 0, 0, ...Array(4).fill(chunkAt(keptFrom))]);
    // the newest bytes, across the ring's wrap point
    expect(console.readAt(written - 8, target)).toBe(8);
    expect([...target]).toEqual(Array(8).fill(chunkAt(written - 1)));
    expect(console.readAt(0, target)).toBe(8);
    expect([...target]).toEqual(Array(8).fill(0));
  });

  it('keeps only the last CONSOLE_CAPACITY bytes of one append longer than that', () => {
    const console = new Console();
    const big = Buffer.alloc(CONSOLE_CAPACITY + 3, 0x61);
    big.write('xyz', CONSOLE_CAPACITY);
    console.append(big);
    expect(console.size).toBe(CONSOLE_CAPACITY + 3);
    expect(read(console, CONSOLE_CAPACITY, 10)).toBe('xyz');
    expect(read(console, 2, 2)).toBe('\0a');
  });

  it('appends from several threads at once lose nothing and tear no line', async () => {
    const console = new Console();
    // Each worker runs Console.append itself, from the build (npm test builds first).
    const appendFrom = (line: string, lines: number) => new Promise<void>((resolve, reject) => {
      const worker = new Worker(`
        const { workerData, parentPort } = require('node:worker_threads');
        import(workerData.module).then(({ Console }) => {
          const console = new Console(workerData.buffer);
          const bytes = Buffer.from(workerData.line);
          for (let i = 0; i < workerData.lines; i++) console.append(bytes);
          parentPort.postMessage('done');
        });
      `, { eval: true, workerData: { module: new URL('../../../dist/backend/console.js', import.meta.url).href, buffer: console.buffer, line, lines } });
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    await Promise.all([appendFrom('aaaaaaa\n', 2000), appendFrom('bbbbbbb\n', 2000), appendFrom('ccccccc\n', 2000)]);
    const text = read(console, 0, console.size);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(6000);
    expect(new Set(lines)).toEqual(new Set(['aaaaaaa', 'bbbbbbb', 'ccccccc']));
  });
});
