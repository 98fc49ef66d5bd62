// What readers and the session share: the ReplyBox a ring reader waits on
// for the main thread's answer, and the "no reader to spare" checks.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { holdSlot, leaveGroup, noReaderToSpare, ReplyBox } from '../../../../src/fs/fuse/reader-protocol.js';

/** Runs `code` in a worker with `box` (the ReplyBox class from dist) and `buffer`; resolves when it ends. */
function inWorker(buffer: SharedArrayBuffer, code: string): Promise<void> {
  const module = pathToFileURL(resolve('dist/fs/fuse/reader-protocol.js')).href;
  const worker = new Worker(`
    const { workerData } = require('node:worker_threads');
    const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    import(${JSON.stringify(module)}).then(({ ReplyBox }) => { const box = new ReplyBox(workerData); ${code} });`,
  { eval: true, workerData: buffer });
  return new Promise((done, fail) => { worker.once('exit', () => done()); worker.once('error', fail); });
}

describe('ReplyBox', () => {
  it('take gives the reply delivered, whole', () => {
    const box = ReplyBox.create(64);
    box.deliver(Uint8Array.of(1, 2, 3));
    expect(Array.from(box.take())).toEqual([1, 2, 3]);
  });

  it('take waits for a reply delivered later, from another thread', async () => {
    const box = ReplyBox.create(64);
    const delivered = inWorker(box.buffer, 'sleep(30); box.deliver(Uint8Array.of(7, 8));');
    const started = performance.now();
    expect(Array.from(box.take())).toEqual([7, 8]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(20);
    await delivered;
  });

  it('a wake-up with nothing delivered is no reply: take goes on waiting (the reply before stays taken)', async () => {
    const box = ReplyBox.create(64);
    box.deliver(Uint8Array.of(1));
    expect(Array.from(box.take())).toEqual([1]);
    const delivered = inWorker(box.buffer, `
      sleep(20); Atomics.notify(new Int32Array(workerData, 0, 1), 0);
      sleep(20); box.deliver(Uint8Array.of(2));`);
    expect(Array.from(box.take())).toEqual([2]);
    await delivered;
  });
});

describe('noReaderToSpare (a group: the /dev/fuse readers, or one ring queue)', () => {
  it.each<[number, number, boolean]>([
    [2, 0, false], [2, 1, false], [2, 2, true], [1, 1, true], [3, 2, false],
  ])('%i readers, %i held -> %s', (readers, busy, none) => {
    const counts = new Int32Array(holdSlot.count);
    counts[holdSlot.readers] = readers;
    counts[holdSlot.busy] = busy;
    expect(noReaderToSpare(counts)).toBe(none);
  });
});

describe('leaveGroup', () => {
  // [readers, busy, keep, whether an idle reader may leave]
  it.each([
    [2, 0, 2, false], // the group keeps its base readers
    [3, 0, 2, true],
    [3, 1, 2, true], // after it leaves, one reader is still free
    [3, 2, 2, false], // leaving would leave none free for the next request
    [6, 3, 2, true],
    [1, 0, 1, false],
  ])('readers %i, busy %i, keep %i: %s', (readers, busy, keep, may) => {
    const counts = new Int32Array(holdSlot.count);
    counts[holdSlot.readers] = readers;
    counts[holdSlot.busy] = busy;
    expect(leaveGroup(counts, keep)).toBe(may);
    expect(counts[holdSlot.readers]).toBe(may ? readers - 1 : readers);
  });
});
