// The Listener's protocol: one reader holds the token; the deputy takes it
// over from a listener stuck in one run while a request waits. The deputy
// runs in a worker thread (it blocks); the "channel" it polls is /dev/null,
// which poll(2) always reports readable, i.e. a request always waits.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { DEPUTY_PERIOD_MS, LISTENER_FIELDS, Listener } from '../../../../src/fs/fuse/listener.js';

const state = () => new Int32Array(new SharedArrayBuffer((2 + LISTENER_FIELDS) * 4));
const BASE = 2;
const readable = openSync('/dev/null', 'r');
// an empty FIFO, open for reading and writing: poll(2) reports nothing to read, i.e. no request waits
const fifoDir = mkdtempSync(join(tmpdir(), 'kvmfs-listener-'));
execFileSync('mkfifo', [join(fifoDir, 'fifo')]);
const empty = openSync(join(fifoDir, 'fifo'), constants.O_RDWR | constants.O_NONBLOCK);
afterAll(() => {
  closeSync(readable);
  closeSync(empty);
  rmSync(fifoDir, { recursive: true });
});

/** Reader `id` waiting for its turn in a worker; resolves with the ms it waited (-1: no turn: closed, or it left after `idleMs`). */
function awaitTurnInWorker(shared: Int32Array, id: number, fd = readable, idleMs = 60_000): Promise<number> {
  const module = pathToFileURL(resolve('dist/fs/fuse/listener.js')).href;
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(${JSON.stringify(module)}).then(({ Listener }) => {
      const started = performance.now();
      const turn = new Listener(workerData.state, ${BASE}).awaitTurn(${id}, workerData.fd, { ms: ${idleMs}, leave: () => true, rest: () => {} });
      parentPort.postMessage(turn ? performance.now() - started : -1);
    });`;
  const worker = new Worker(code, { eval: true, workerData: { state: shared, fd } });
  return new Promise((resolvePromise, reject) => {
    worker.once('message', (ms: number) => { void worker.terminate(); resolvePromise(ms); });
    worker.once('error', reject);
  });
}

describe('Listener', () => {
  it('the first reader to ask holds the token; the others do not', () => {
    const listener = new Listener(state(), BASE);
    expect(listener.holds(1)).toBe(true);
    expect(listener.holds(2)).toBe(false);
    expect(listener.holds(1)).toBe(true);
  });

  it('release frees the token of a reader that is gone, and only its own', () => {
    const listener = new Listener(state(), BASE);
    listener.holds(1);
    listener.release(2);
    expect(listener.holds(2)).toBe(false);
    listener.release(1);
    expect(listener.holds(2)).toBe(true);
  });

  it('close lets the deputy and the readers waiting to be deputy go, with no turn, and no one listens again', async () => {
    const shared = state();
    const listener = new Listener(shared, BASE);
    expect(listener.holds(1)).toBe(true);
    const waiting = [2, 3, 4].map((id) => awaitTurnInWorker(shared, id, empty));
    await new Promise((done) => setTimeout(done, 100));
    listener.close();
    expect(await Promise.all(waiting)).toEqual([-1, -1, -1]);
    expect(listener.holds(5)).toBe(false);
    expect(listener.awaitTurn(5, empty, { ms: 60_000, leave: () => false, rest: () => {} })).toBe(false);
  });

  it('a reader waiting to be deputy leaves after idleMs with no turn, when leave says yes; the deputy stays', async () => {
    const shared = state();
    const listener = new Listener(shared, BASE);
    expect(listener.holds(1)).toBe(true);
    const deputy = awaitTurnInWorker(shared, 2, empty, 50);
    await new Promise((done) => setTimeout(done, 20));
    const waiting = await awaitTurnInWorker(shared, 3, empty, 50);
    expect(waiting).toBe(-1);
    listener.release(1);
    expect(await deputy).toBeGreaterThan(0);
  });

  it('the fields stay within LISTENER_FIELDS past base', () => {
    const shared = state();
    const listener = new Listener(shared, BASE);
    listener.holds(7);
    listener.runStarted();
    expect([shared[0], shared[1]]).toEqual([0, 0]);
  });

  it('a deputy takes over from a listener stuck in one run, after about a period', async () => {
    const shared = state();
    const listener = new Listener(shared, BASE);
    expect(listener.holds(1)).toBe(true);
    listener.runStarted(); // and never ends
    const waited = await awaitTurnInWorker(shared, 2);
    expect(waited).toBeGreaterThanOrEqual(DEPUTY_PERIOD_MS / 2);
    expect(listener.holds(2)).toBe(true);
    expect(listener.holds(1)).toBe(false);
  });

  it('runs that end keep the token where it is; a run left running is overtaken', async () => {
    const shared = state();
    const listener = new Listener(shared, BASE);
    listener.holds(1);
    const turn = awaitTurnInWorker(shared, 2);
    // short runs, back to back, for 20 periods: never the same run on two looks
    const until = Date.now() + 20 * DEPUTY_PERIOD_MS;
    while (Date.now() < until) listener.runEnded(listener.runStarted());
    expect(listener.holds(1)).toBe(true);
    listener.runStarted();
    await turn;
    expect(listener.holds(1)).toBe(false);
  });

  it('a run that lasts is not overtaken while no request waits', async () => {
    const shared = state();
    const listener = new Listener(shared, BASE);
    listener.holds(1);
    listener.runStarted();
    const turn = awaitTurnInWorker(shared, 2, empty);
    await new Promise((r) => setTimeout(r, 30));
    expect(listener.holds(1)).toBe(true);
    listener.release(1); // ends the worker's wait
    await turn;
  });

  it('a freed token goes to the waiting deputy, even with no run', async () => {
    const shared = state();
    const listener = new Listener(shared, BASE);
    listener.holds(1);
    const turn = awaitTurnInWorker(shared, 2);
    await new Promise((r) => setTimeout(r, 20));
    listener.release(1);
    await turn;
    expect(listener.holds(2)).toBe(true);
  });
});
