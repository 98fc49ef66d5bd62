import { describe, expect, it } from 'vitest';
import { renderCapabilities } from '../../../../src/fs/format/capabilities.js';

describe('renderCapabilities', () => {
  it.each<[string, Array<[string, number]>, string]>([
    ['no capabilities', [], ''],
    ['one line per capability, in the given order, values in decimal',
      [['irqchip', 1], ['hlt', 0], ['nr_vcpus', 288], ['max_vcpu_id', 4096]],
      'irqchip 1\nhlt 0\nnr_vcpus 288\nmax_vcpu_id 4096\n'],
    ['a negative value as KVM returned it', [['user_memory', -1]], 'user_memory -1\n'],
  ])('renders %s', (_, values, text) => {
    expect(renderCapabilities(values)).toBe(text);
  });
});
