import { describe, expect, it } from 'vitest';
import { parseCounters, renderTable, type VmSample } from '../../../src/cli/top-table.js';

const counters = (entries: Record<string, number>) => new Map(Object.entries(entries).map(([name, value]) => [name, BigInt(value)]));

const before: VmSample[] = [
  { name: 'vm0', vcpus: [
    { name: 'vcpu0', rip: 0x1000n, stats: counters({ exits: 100, io_exits: 40, mmio_exits: 0, halt_exits: 5, irq_exits: 1, signal_exits: 0, l1d_flush: 9 }) },
    { name: 'vcpu1', mpState: 'halted', rip: 0x2000n, stats: counters({ exits: 10, io_exits: 0, mmio_exits: 2, halt_exits: 8, irq_exits: 0, signal_exits: 0 }) },
  ] },
  { name: 'idle', vcpus: [{ name: 'vcpu0', rip: 0x1000n }] },
];
const after: VmSample[] = [
  { name: 'vm0', vcpus: [
    { name: 'vcpu0', rip: 0x1012n, stats: counters({ exits: 300, io_exits: 140, mmio_exits: 0, halt_exits: 5, irq_exits: 21, signal_exits: 4, l1d_flush: 19 }) },
    { name: 'vcpu1', mpState: 'halted', rip: 0x2000n, stats: counters({ exits: 10, io_exits: 0, mmio_exits: 2, halt_exits: 8, irq_exits: 0, signal_exits: 0 }) },
  ] },
  { name: 'idle', vcpus: [{ name: 'vcpu0', rip: 0x1000n }] },
  { name: 'new', vcpus: [] },
];

describe('renderTable', () => {
  it('shows exits per second by reason, per VM and vcpu', () => {
    expect(renderTable(before, after, 2)).toBe(`\
VM    VCPU     STATE   RIP                 EXITS/s  IO/s  MMIO/s  HALT/s  IRQ/s  SIGNAL/s
vm0   2 vcpus                                  100    50       0       0     10         2
      vcpu0    active  0x0000000000001012      100    50       0       0     10         2
      vcpu1    halted  0x0000000000002000        0     0       0       0      0         0
idle  1 vcpu                                     -     -       -       -      -         -
      vcpu0    idle    0x0000000000001000        -     -       -       -      -         -
new   0 vcpus                                    -     -       -       -      -         -
`);
  });

  it('shows dashes on the first look', () => {
    expect(renderTable([], before, 1).split('\n')[2]).toBe('      vcpu0    idle    0x0000000000001000        -     -       -       -      -');
  });
});

describe('parseCounters', () => {
  it('takes name value lines, decimal or hex, and skips the rest', () => {
    expect(parseCounters('exits 12\nrip 0x0000000000001000\nsinglestep\nname word\n')).toEqual(counters({ exits: 12, rip: 0x1000 }));
  });
});
