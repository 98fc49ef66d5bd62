import { describe, expect, it } from 'vitest';
import type { CpuidEntry } from '../../../../src/backend/types-state.js';
import { applyCpuid, parseCpuid, renderCpuid } from '../../../../src/fs/format/cpuid.js';
import { formatError } from './format-error.js';

const leaf0: CpuidEntry = { function: 0, index: 0, flags: 0, eax: 0xd, ebx: 0x756e6547, ecx: 0x6c65746e, edx: 0x49656e69 };
const leaf7: CpuidEntry = { function: 7, index: 0, flags: 1, eax: 1, ebx: 0x29c67af, ecx: 0, edx: 0 };
const table = [leaf0, leaf7];

describe('renderCpuid', () => {
  it('is the layout of cpuid -r, flags last', () => {
    expect(renderCpuid(table)).toBe(
      '0x00000000 0x00: eax=0x0000000d ebx=0x756e6547 ecx=0x6c65746e edx=0x49656e69 flags=0x0\n' +
      '0x00000007 0x00: eax=0x00000001 ebx=0x029c67af ecx=0x00000000 edx=0x00000000 flags=0x1\n');
  });
});

describe('parseCpuid and applyCpuid', () => {
  it('a read-back gives the same table', () => {
    expect(applyCpuid(table, parseCpuid(renderCpuid(table)))).toEqual(table);
  });

  it.each<[string, string, CpuidEntry[]]>([
    ['one register of one leaf, the others kept', '0 0: ebx=0x41414141', [{ ...leaf0, ebx: 0x41414141 }, leaf7]],
    ['the colon apart, decimal', '0 0 : eax=1', [{ ...leaf0, eax: 1 }, leaf7]],
    ['a new subleaf, flags from its siblings', '7 1: eax=5', [leaf0, leaf7, { function: 7, index: 1, flags: 1, eax: 5, ebx: 0, ecx: 0, edx: 0 }]],
    ['a new leaf before others, in leaf order', '0x1 0x0: edx=0x1', [leaf0, { function: 1, index: 0, flags: 0, eax: 0, ebx: 0, ecx: 0, edx: 1 }, leaf7]],
    ['a new subleaf with no siblings: its index matters', '0x40000000 2: eax=1', [leaf0, leaf7, { function: 0x40000000, index: 2, flags: 1, eax: 1, ebx: 0, ecx: 0, edx: 0 }]],
    ['flags given', '0 0: flags=0x4', [{ ...leaf0, flags: 4 }, leaf7]],
  ])('%s', (_, text, want) => {
    expect(applyCpuid(table, parseCpuid(text))).toEqual(want);
  });

  it.each<[string, string, string]>([
    ['no colon', '0 0 eax=1', 'line 1: expected ":" after the subleaf'],
    ['a leaf alone', '0', 'line 1: expected "<leaf> <subleaf>: eax=... ebx=... ecx=... edx=..."'],
    ['no fields', '0 0:', 'line 1: leaf 0x00000000 0x00: no fields given'],
    ['an unknown register', '0 0: rax=1', 'line 1: leaf 0x00000000 0x00: unknown field "rax"'],
    ['a 33-bit value', '0 0: eax=0x100000000', 'line 1: leaf 0x00000000 0x00 eax: value 0x100000000 out of range for 32 bits'],
    ['a bad leaf', 'x 0: eax=1', 'line 1: leaf: bad number "x"'],
    ['a bad subleaf', '0 y: eax=1', 'line 1: subleaf: bad number "y"'],
    ['a duplicate leaf', '0 0: eax=1\n0x0 0x0: ebx=2', 'line 2: duplicate leaf 0x00000000 0x00'],
    ['a duplicate field', '0 0: eax=1 eax=2', 'line 1: leaf 0x00000000 0x00: duplicate field eax'],
  ])('rejects %s', (_, text, message) => {
    expect(() => parseCpuid(text)).toThrow(formatError(message));
  });

  it('refuses a table larger than KVM takes', () => {
    const text = Array.from({ length: 255 }, (_, i) => `0x80000100 ${i}: eax=1`).join('\n');
    expect(() => applyCpuid(table, parseCpuid(text))).toThrow(formatError('257 leaves: KVM takes at most 256'));
  });
});
