import { describe, expect, it } from 'vitest';
import { isNothing, restorePlan, VCPU_FILES, VM_FILES, vcpuIndexes, type RestoreStep } from '../../../../src/cli/save-restore/state-files.js';

const label = (step: RestoreStep) => (step.kind === 'write' || step.kind === 'mkdir' ? `${step.kind} ${step.path}` : step.kind);
const everything = (vcpus: number[]) => new Set([
  ...VM_FILES.map((f) => f.name),
  ...vcpus.flatMap((n) => VCPU_FILES.map((f) => `vcpu${n}/${f.name}`)),
]);

describe('restorePlan', () => {
  it('puts the files back in the order KVM needs', () => {
    expect(restorePlan([0, 1], everything([0, 1])).map(label)).toEqual([
      'write tss_addr', 'write identity_map_addr', 'write irqchip', 'create-pit', // before any vcpu
      'memory', // size, then contents
      'mkdir vcpu0', 'mkdir vcpu1',
      ...[0, 1].flatMap((n) => [
        'cpuid', 'sregs', 'regs', 'fpu', 'xsave', 'xcrs', 'lapic', 'msrs', 'debugregs', 'debug', 'events', 'mp_state',
      ].map((file) => `write vcpu${n}/${file}`)),
      'write console_ports', 'write pic_master', 'write pic_slave', 'write ioapic', 'write pit', 'write clock',
    ]);
  });

  it('leaves out what the save does not hold (no irqchip, no PIT, a partial save)', () => {
    const saved = new Set(['clock', 'vcpu0/regs', 'vcpu0/sregs']);
    expect(restorePlan([0], saved).map(label)).toEqual(['memory', 'mkdir vcpu0', 'write vcpu0/sregs', 'write vcpu0/regs', 'write clock']);
  });

  it('a VM without vcpus still gets its memory', () => {
    expect(restorePlan([], new Set()).map(label)).toEqual(['memory']);
  });
});

describe('vcpuIndexes', () => {
  it('takes vcpu<N> entries, in numeric order', () => {
    expect(vcpuIndexes(['vcpu10', 'memory', 'vcpu2', 'vcpu0', 'vcpu01', 'vcpux', 'regs'])).toEqual([0, 2, 10]);
  });
});

describe('isNothing', () => {
  it.each([['none\n', true], ['none', true], ['', true], ['\n', true], ['kernel\n', false], ['0xe9\n', false]])('%j -> %s', (text, nothing) => {
    expect(isNothing(Buffer.from(text))).toBe(nothing);
  });
});
