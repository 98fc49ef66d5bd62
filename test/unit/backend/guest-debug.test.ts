// The step over an exec breakpoint at rip (GuestDebugState.run), on a fake
// vcpu fd that records the ioctls: which configuration each KVM_RUN ran
// with, and what came back.
import { describe, expect, it } from 'vitest';
import { GuestDebugState, newGuestDebugBlock, type GuestDebug } from '../../../src/backend/guest-debug.js';
import { decodeGuestDebug } from '../../../src/backend/kvm/debug-codec.js';
import { slot } from '../../../src/backend/vcpu-protocol.js';
import type { VcpuFd } from '../../../src/backend/kvm/vcpu.js';
import type { VcpuExit } from '../../../src/backend/types.js';

type Result = { kind: 'exited' } | { kind: 'stopped' };
const off = (): GuestDebug['hw'] => [undefined, undefined, undefined, undefined];
const exec = (addr: bigint) => ({ addr, type: 'exec' as const, length: 1 as const });
const step = (dr6 = 0xffff4ff0n): VcpuExit => ({ kind: 'debug', pc: 0x1003n, exception: 1, dr6, dr7: 0x400n });

/** A fake fd at `rip` (cs base `csBase`, real or long mode) whose runs return `exits` in turn. */
function setup(rip: bigint, exits: Array<{ result: Result; exit?: VcpuExit }>, options: { csBase?: bigint; longMode?: boolean } = {}) {
  const configs: GuestDebug[] = [];
  const runs: GuestDebug[] = [];
  let current: GuestDebug = { singlestep: false, swBreakpoints: false, hw: off() };
  let last: VcpuExit = { kind: 'hlt' };
  const fd = {
    getRegs: () => ({ rip }),
    getSregs: () => ({ efer: options.longMode ? 0x500n : 0n, cs: { base: options.csBase ?? 0n, l: options.longMode ? 1 : 0 } }),
    setGuestDebug: (bytes: Uint8Array) => {
      current = decodeGuestDebug(new DataView(bytes.slice().buffer));
      configs.push(current);
    },
    kvmRun: { peekExit: () => last },
  } as unknown as VcpuFd;
  const state = new GuestDebugState(newGuestDebugBlock(), new Int32Array(new SharedArrayBuffer(slot.count * 4)));
  const runOnce = (): Result => {
    runs.push(current);
    const next = exits.shift()!;
    last = next.exit ?? last;
    return next.result;
  };
  return { fd, state, configs, runs, run: () => state.run(fd, runOnce) };
}

describe('GuestDebugState.run', () => {
  it('without an exec breakpoint at rip, runs once and touches nothing', () => {
    const t = setup(0x1000n, [{ result: { kind: 'exited' }, exit: { kind: 'hlt' } }]);
    t.state.set(t.fd, { singlestep: false, swBreakpoints: false, hw: [exec(0x2000n), undefined, undefined, undefined] });
    t.configs.length = 0;
    expect(t.run()).toEqual({ kind: 'exited' });
    expect(t.runs).toHaveLength(1);
    expect(t.configs).toEqual([]);
  });

  it('on a breakpoint at rip: one single-step with it off, the configuration back, then the real run', () => {
    const t = setup(0x1000n, [{ result: { kind: 'exited' }, exit: step() }, { result: { kind: 'exited' }, exit: { kind: 'hlt' } }]);
    const configured: GuestDebug = { singlestep: false, swBreakpoints: false, hw: [undefined, exec(0x1000n), exec(0x1010n), undefined] };
    t.state.set(t.fd, configured);
    expect(t.run()).toEqual({ kind: 'exited' });
    expect(t.runs).toEqual([
      { singlestep: true, swBreakpoints: false, hw: [undefined, undefined, exec(0x1010n), undefined] },
      configured,
    ]);
    expect(t.state.get()).toEqual(configured);
  });

  it('goes on after the step when DR6 shows only slots not in use (seen on nested KVM)', () => {
    const t = setup(0x1000n, [{ result: { kind: 'exited' }, exit: step(0xffff0ff6n) }, { result: { kind: 'exited' }, exit: { kind: 'hlt' } }]);
    t.state.set(t.fd, { singlestep: false, swBreakpoints: false, hw: [exec(0x1000n), undefined, undefined, exec(0x1010n)] });
    t.run();
    expect(t.runs).toHaveLength(2);
  });

  it('with singlestep on, the step over it is the run', () => {
    const t = setup(0x1000n, [{ result: { kind: 'exited' }, exit: step() }]);
    t.state.set(t.fd, { singlestep: true, swBreakpoints: false, hw: [exec(0x1000n), undefined, undefined, undefined] });
    t.run();
    expect(t.runs).toHaveLength(1);
    expect(t.configs.at(-1)!.singlestep).toBe(true);
    expect(t.configs.at(-1)!.hw[0]).toEqual(exec(0x1000n));
  });

  it.each<[string, { result: Result; exit?: VcpuExit }]>([
    ['a watchpoint hit by the stepped instruction', { result: { kind: 'exited' }, exit: step(0xffff4ff4n) }],
    ['an io exit', { result: { kind: 'exited' }, exit: { kind: 'io', direction: 'out', port: 0xe9, size: 1, count: 1, data: [0x41n] } }],
    ['a stop', { result: { kind: 'stopped' } }],
  ])('returns what the step ran into: %s', (_name, outcome) => {
    const t = setup(0x1000n, [outcome]);
    t.state.set(t.fd, { singlestep: false, swBreakpoints: false, hw: [exec(0x1000n), undefined, { addr: 0x2000n, type: 'write', length: 2 }, undefined] });
    expect(t.run()).toEqual(outcome.result);
    expect(t.runs).toHaveLength(1);
    expect(t.configs.at(-1)!.hw[0]).toEqual(exec(0x1000n)); // put back
  });

  it('compares linear addresses: cs.base + ip outside long mode, rip in it', () => {
    const real = setup(0x0010n, [{ result: { kind: 'exited' }, exit: step() }, { result: { kind: 'exited' } }], { csBase: 0x1000n });
    real.state.set(real.fd, { singlestep: false, swBreakpoints: false, hw: [exec(0x1010n), undefined, undefined, undefined] });
    real.run();
    expect(real.runs).toHaveLength(2);
    const long = setup(0x0010n, [{ result: { kind: 'exited' } }], { csBase: 0x1000n, longMode: true });
    long.state.set(long.fd, { singlestep: false, swBreakpoints: false, hw: [exec(0x1010n), undefined, undefined, undefined] });
    long.run();
    expect(long.runs).toEqual([{ singlestep: false, swBreakpoints: false, hw: [exec(0x1010n), undefined, undefined, undefined] }]);
  });
});
