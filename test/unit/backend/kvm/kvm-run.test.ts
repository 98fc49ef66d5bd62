// Decoding struct kvm_run, table-driven over hand-built pages laid out as
// <linux/kvm.h> says.
import { describe, expect, it } from 'vitest';
import { KvmRunPage } from '../../../../src/backend/kvm/kvm-run.js';
import type { VcpuExit } from '../../../../src/backend/types.js';

const PAGE = 8192;
const IO_DATA = 4096;

type Setup = (view: DataView) => void;
const io = (direction: number, size: number, port: number, count: number, bytes: number[]): Setup => (view) => {
  view.setUint32(8, 2, true);
  view.setUint8(32, direction);
  view.setUint8(33, size);
  view.setUint16(34, port, true);
  view.setUint32(36, count, true);
  view.setBigUint64(40, BigInt(IO_DATA), true);
  bytes.forEach((byte, i) => view.setUint8(IO_DATA + i, byte));
};
const mmio = (isWrite: boolean, addr: bigint, len: number, bytes: number[]): Setup => (view) => {
  view.setUint32(8, 6, true);
  view.setBigUint64(32, addr, true);
  bytes.forEach((byte, i) => view.setUint8(40 + i, byte));
  view.setUint32(48, len, true);
  view.setUint8(52, isWrite ? 1 : 0);
};
const reason = (code: number, fields: Setup = () => {}): Setup => (view) => {
  view.setUint32(8, code, true);
  fields(view);
};

function page(setup: Setup): { view: DataView; run: KvmRunPage } {
  const view = new DataView(new ArrayBuffer(PAGE));
  setup(view);
  return { view, run: new KvmRunPage(view) };
}

describe('KvmRunPage.readExit', () => {
  it.each<[string, Setup, VcpuExit]>([
    ['io out, 1 byte', io(1, 1, 0xe9, 1, [0x48]), { kind: 'io', direction: 'out', port: 0xe9, size: 1, count: 1, data: [0x48n] }],
    ['io out, 2 x 2 bytes', io(1, 2, 0x3f8, 2, [0x34, 0x12, 0x78, 0x56]), { kind: 'io', direction: 'out', port: 0x3f8, size: 2, count: 2, data: [0x1234n, 0x5678n] }],
    ['io in, 4 bytes', io(0, 4, 0x60, 1, [1, 2, 3, 4]), { kind: 'io', direction: 'in', port: 0x60, size: 4, count: 1 }],
    ['mmio write', mmio(true, 0xd0000000n, 4, [0x78, 0x56, 0x34, 0x12]), { kind: 'mmio', isWrite: true, addr: 0xd0000000n, len: 4, data: 0x12345678n }],
    ['mmio read', mmio(false, 0xfee00000n, 8, [9, 9, 9, 9, 9, 9, 9, 9]), { kind: 'mmio', isWrite: false, addr: 0xfee00000n, len: 8 }],
    ['hlt', reason(5), { kind: 'hlt' }],
    ['shutdown', reason(8), { kind: 'shutdown' }],
    ['fail_entry', reason(9, (v) => { v.setBigUint64(32, 0x21n, true); v.setUint32(40, 3, true); }), { kind: 'fail_entry', reason: 0x21n, cpu: 3 }],
    ['internal_error', reason(17, (v) => v.setUint32(32, 1, true)), { kind: 'internal_error', suberror: 1 }],
    ['debug', reason(4, (v) => { v.setUint32(32, 1, true); v.setBigUint64(40, 0x1003n, true); v.setBigUint64(48, 0xffff4ff0n, true); v.setBigUint64(56, 0x400n, true); }),
      { kind: 'debug', pc: 0x1003n, exception: 1, dr6: 0xffff4ff0n, dr7: 0x400n }],
    ['intr', reason(10), { kind: 'intr' }],
    ['system_event', reason(24, (v) => { v.setUint32(32, 2, true); v.setBigUint64(40, 1n, true); }), { kind: 'system_event', type: 2, flags: 1n }],
    ['KVM_EXIT_UNKNOWN', reason(0, (v) => v.setBigUint64(32, 0x7bn, true)), { kind: 'unknown', reason: 0, hardwareExitReason: 0x7bn }],
    ['an exit kvmfs does not decode', reason(7), { kind: 'unknown', reason: 7 }],
  ])('%s', (_name, setup, expected) => {
    expect(page(setup).run.readExit()).toEqual(expected);
  });

  it('zeroes the io in buffer, so a run without an answer delivers zeros', () => {
    const { view, run } = page(io(0, 2, 0x60, 2, [1, 2, 3, 4]));
    run.readExit();
    expect([0, 1, 2, 3].map((i) => view.getUint8(IO_DATA + i))).toEqual([0, 0, 0, 0]);
  });

  it('zeroes the mmio read data', () => {
    const { view, run } = page(mmio(false, 0x1000n, 4, [1, 2, 3, 4]));
    run.readExit();
    expect(view.getBigUint64(40, true)).toBe(0n);
  });
});

describe('KvmRunPage.writeInput', () => {
  it('stores io in values little-endian, one per element', () => {
    const { view, run } = page(io(0, 2, 0x60, 2, []));
    const exit = run.readExit();
    run.writeInput(exit, { values: [0x1234n, 0xabcdn] });
    expect([0, 1, 2, 3].map((i) => view.getUint8(IO_DATA + i))).toEqual([0x34, 0x12, 0xcd, 0xab]);
  });

  it('stores an mmio read value in mmio.data', () => {
    const { view, run } = page(mmio(false, 0x1000n, 4, []));
    const exit = run.readExit();
    run.writeInput(exit, { values: [0x12345678n] });
    expect(view.getUint32(40, true)).toBe(0x12345678);
  });

  it('immediate_exit is byte 1', () => {
    const { view, run } = page(() => {});
    run.immediateExit = true;
    expect(view.getUint8(1)).toBe(1);
    run.immediateExit = false;
    expect(view.getUint8(1)).toBe(0);
  });
});
