// The hand-written struct codec must agree byte for byte with koffi's
// definitions of the same structs (whose layout abi.test.ts pins to the C
// header).
import { describe, expect, it } from 'vitest';
import koffi from 'koffi';
import { kvm_regs, kvm_sregs } from '../../../../src/backend/kvm/abi.js';
import { decodeRegs, decodeSregs, encodeRegs, encodeSregs, REGS_SIZE, SREGS_SIZE } from '../../../../src/backend/kvm/codec.js';
import { REG_NAMES, type Regs, type Segment, type Sregs } from '../../../../src/backend/types.js';

const regs = Object.fromEntries(REG_NAMES.map((name, i) => [name, 0x0102030405060708n * BigInt(i + 1) & 0xffffffffffffffffn])) as Regs;

const segment = (i: number): Segment => ({
  base: 0xffff000000000000n + BigInt(i), limit: 0xfffff000 + i, selector: 0x10 * i, type: i % 16,
  present: 1, dpl: i % 4, db: i & 1, s: 1, l: (i >> 1) & 1, g: 1, avl: 0, unusable: i === 7 ? 1 : 0,
});
const sregs: Sregs = {
  cs: segment(0), ds: segment(1), es: segment(2), fs: segment(3), gs: segment(4), ss: segment(5), tr: segment(6), ldt: segment(7),
  gdt: { base: 0x1000n, limit: 0xffff }, idt: { base: 0xfffffffffffff000n, limit: 0x7ff },
  cr0: 0x80050033n, cr2: 0xdeadbeefn, cr3: 0x3000n, cr4: 0x6f0n, cr8: 0xfn, efer: 0xd01n, apic_base: 0xfee00900n,
  interrupt_bitmap: [1n, 1n << 63n, 0n, 0xffffffffffffffffn],
};

function koffiBytes(type: ReturnType<typeof koffi.struct>, value: object, size: number): Buffer {
  const bytes = Buffer.alloc(size);
  koffi.encode(bytes, type, value);
  return bytes;
}

describe('struct kvm_regs', () => {
  it('encodes as koffi does', () => {
    const view = new DataView(new ArrayBuffer(REGS_SIZE));
    encodeRegs(regs, view);
    expect(Buffer.from(view.buffer)).toEqual(koffiBytes(kvm_regs, regs, REGS_SIZE));
  });

  it('decodes what koffi encodes', () => {
    const bytes = koffiBytes(kvm_regs, regs, REGS_SIZE);
    expect(decodeRegs(new DataView(bytes.buffer, bytes.byteOffset, REGS_SIZE))).toEqual(regs);
  });
});

describe('struct kvm_sregs', () => {
  const withPadding = {
    ...sregs,
    ...Object.fromEntries((['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const).map((name) => [name, { ...sregs[name], padding: 0 }])),
    gdt: { ...sregs.gdt, padding: [0, 0, 0] },
    idt: { ...sregs.idt, padding: [0, 0, 0] },
  };

  it('encodes as koffi does', () => {
    const view = new DataView(new ArrayBuffer(SREGS_SIZE));
    encodeSregs(sregs, view);
    expect(Buffer.from(view.buffer)).toEqual(koffiBytes(kvm_sregs, withPadding, SREGS_SIZE));
  });

  it('decodes what koffi encodes', () => {
    const bytes = koffiBytes(kvm_sregs, withPadding, SREGS_SIZE);
    expect(decodeSregs(new DataView(bytes.buffer, bytes.byteOffset, SREGS_SIZE))).toEqual(sregs);
  });
});
