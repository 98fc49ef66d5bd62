import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KVM_CAPS } from '../../../../src/backend/kvm/capabilities.js';

const HEADER = '/usr/include/linux/kvm.h';
const byName = new Map(KVM_CAPS.map(([name, number]) => [name, number]));

describe('KVM_CAPS', () => {
  it.each<[string, number]>([
    ['irqchip', 0], ['hlt', 1], ['user_memory', 3], ['set_tss_addr', 4], ['ext_cpuid', 7],
    ['nr_vcpus', 9], ['nr_memslots', 10], ['mp_state', 14], ['sync_mmu', 16], ['user_nmi', 22],
    ['set_guest_debug', 23], ['irq_routing', 25], ['irqfd', 32], ['ioeventfd', 36], ['vcpu_events', 41],
    ['xsave', 55], ['max_vcpus', 66], ['one_reg', 70], ['readonly_mem', 81], ['immediate_exit', 136],
    ['nested_state', 157], ['dirty_log_ring', 192], ['sregs2', 200], ['xsave2', 208],
    ['dirty_log_ring_acq_rel', 223], ['user_memory2', 231], ['guest_memfd', 234], ['vm_types', 235],
    ['x86_guest_mode', 238],
  ])('has %s = %i', (name, number) => {
    expect(byName.get(name)).toBe(number);
  });

  it('lists names once, lower case without the prefix, in ascending number order', () => {
    expect(byName.size).toBe(KVM_CAPS.length);
    for (const [name] of KVM_CAPS) expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
    const numbers = KVM_CAPS.map(([, number]) => number);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it.skipIf(!existsSync(HEADER))(`matches every KVM_CAP_* of ${HEADER}`, () => {
    const header = [...readFileSync(HEADER, 'utf8').matchAll(/^#define KVM_CAP_(\w+)\s+(\d+)\b/gm)]
      .map(([, name, number]) => [name!.toLowerCase(), Number(number)] as const);
    expect(header.length).toBeGreaterThan(200);
    const newest = Math.max(...header.map(([, number]) => number));
    expect(KVM_CAPS.filter(([, number]) => number <= newest)).toEqual(header);
  });
});
