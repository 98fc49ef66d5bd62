// A vcpu's named state, read off its control block (vcpu-protocol.ts).
import { describe, expect, it } from 'vitest';
import { newControlBlock, slot, vcpuState, type VcpuState } from '../../../src/backend/vcpu-protocol.js';

describe('vcpuState', () => {
  // [runOwner, direct, close, state]
  it.each([
    [0, 0, 0, 'idle'],
    [0, 2, 0, 'idle'], // ioctls on an idle vcpu do not pause anything
    [1, 0, 0, 'running'],
    [1, 1, 0, 'paused'],
    [1, 3, 0, 'paused'],
    [0, 0, 1, 'closed'],
    [1, 1, 1, 'closed'], // closing wins: nothing new starts
  ] as Array<[number, number, number, VcpuState]>)('runOwner %i, direct %i, close %i: %s', (runOwner, direct, close, state) => {
    const control = new Int32Array(newControlBlock(), 0, slot.count);
    control[slot.runOwner] = runOwner;
    control[slot.direct] = direct;
    control[slot.close] = close;
    expect(vcpuState(control)).toBe(state);
  });

  it('a new control block is idle', () => {
    expect(vcpuState(new Int32Array(newControlBlock(), 0, slot.count))).toBe('idle');
  });
});
