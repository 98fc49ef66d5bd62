import { describe, expect, it } from 'vitest';
import { CONTROL_BYTES, DEADLINE_OFFSET, newControlBlock, RUNNER_OFFSET, slot } from '../../../src/backend/vcpu-protocol.js';

describe('vcpu control block layout', () => {
  it('the Int32 slots are distinct and below count', () => {
    const { count, ...slots } = slot;
    const values = Object.values(slots);
    expect(new Set(values).size).toBe(values.length);
    expect(Math.max(...values)).toBeLessThan(count);
  });

  it('the runner (BigInt64) and the deadline (Float64) are 8-byte aligned, after the slots', () => {
    expect(RUNNER_OFFSET % 8).toBe(0);
    expect(DEADLINE_OFFSET % 8).toBe(0);
    expect(RUNNER_OFFSET).toBeGreaterThanOrEqual(slot.count * 4);
    expect(CONTROL_BYTES).toBe(DEADLINE_OFFSET + 8);
    // what SharedVcpu does with them: these throw on a misaligned offset
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    expect(() => new BigInt64Array(control, RUNNER_OFFSET, 1)).not.toThrow();
    expect(() => new Float64Array(control, DEADLINE_OFFSET, 1)).not.toThrow();
  });

  it('a new control block is idle, with no deadline (Infinity): the watchdog may look before a run writes its own', () => {
    const control = newControlBlock();
    expect(control.byteLength).toBe(CONTROL_BYTES);
    expect(new Float64Array(control, DEADLINE_OFFSET, 1)[0]).toBe(Infinity);
    expect(Array.from(new Int32Array(control, 0, slot.count))).toEqual(Array(slot.count).fill(0));
  });
});
