// A vcpu fd: vcpu ioctls (rust-vmm's VcpuFd) and the struct kvm_run page it
// shares with the kernel. Every call is synchronous: the vcpu's own thread
// (src/backend/vcpu-worker.ts) makes them.
import { check, close, ioctlValue, ioctlWith, koffi, mmap, munmap, MAP_FAILED, MAP_SHARED, PROT_READ, PROT_WRITE, SysError } from './libc.js';
import { exitReasons, ioctls, KVM_EXIT_IO_OUT, kvmRunOffsets as off } from './abi.js';
import { REG_NAMES, SEGMENT_NAMES, DTABLE_NAMES, CONTROL_REG_NAMES } from '../types.js';
import type { ExitInput, Regs, Segment, Sregs, VcpuExit, Dtable } from '../types.js';

const ioctlGetRegs = ioctlWith('_Out_ kvm_regs *');
const ioctlSetRegs = ioctlWith('const kvm_regs *');
const ioctlGetSregs = ioctlWith('_Out_ kvm_sregs *');
const ioctlSetSregs = ioctlWith('const kvm_sregs *');
const ioctlInterrupt = ioctlWith('const kvm_interrupt *');

type Raw = Record<string, unknown>;
const u64 = (v: unknown): bigint => BigInt(v as number | bigint);

export class VcpuFd {
  private constructor(
    readonly fd: number,
    readonly kvmRunPointer: bigint,
    private readonly runSize: number,
    /** struct kvm_run, read and written in place */
    readonly kvmRun: DataView,
  ) {}

  static fromFd(fd: number, mmapSize: number): VcpuFd {
    const pointer = mmap(null, mmapSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) as bigint;
    if (pointer === MAP_FAILED) {
      const error = new SysError('mmap kvm_run', koffi.errno());
      close(fd);
      throw error;
    }
    return new VcpuFd(fd, pointer, mmapSize, new DataView(koffi.view(pointer, mmapSize)));
  }

  /** KVM_RUN. Throws SysError (EINTR when kicked) on failure. */
  run(): void {
    check('KVM_RUN', ioctlValue(this.fd, ioctls.KVM_RUN, 0));
  }

  getRegs(): Regs {
    const raw: Raw = {};
    check('KVM_GET_REGS', ioctlGetRegs(this.fd, ioctls.KVM_GET_REGS, raw));
    return Object.fromEntries(REG_NAMES.map((name) => [name, u64(raw[name])])) as Regs;
  }

  setRegs(regs: Regs): void {
    check('KVM_SET_REGS', ioctlSetRegs(this.fd, ioctls.KVM_SET_REGS, regs));
  }

  getSregs(): Sregs {
    const raw: Raw = {};
    check('KVM_GET_SREGS', ioctlGetSregs(this.fd, ioctls.KVM_GET_SREGS, raw));
    return decodeSregs(raw);
  }

  setSregs(sregs: Sregs): void {
    check('KVM_SET_SREGS', ioctlSetSregs(this.fd, ioctls.KVM_SET_SREGS, encodeSregs(sregs)));
  }

  /** KVM_INTERRUPT: queue an external interrupt (userspace irqchip only). */
  interrupt(irq: number): void {
    check('KVM_INTERRUPT', ioctlInterrupt(this.fd, ioctls.KVM_INTERRUPT, { irq }));
  }

  set immediateExit(value: boolean) {
    this.kvmRun.setUint8(off.immediate_exit, value ? 1 : 0);
  }

  /** Decodes struct kvm_run after KVM_RUN returned 0. */
  readExit(): VcpuExit {
    const run = this.kvmRun;
    const reason = run.getUint32(off.exit_reason, true);
    switch (reason) {
      case exitReasons.KVM_EXIT_IO: {
        const size = run.getUint8(off.io.size);
        const count = run.getUint32(off.io.count, true);
        const port = run.getUint16(off.io.port, true);
        const dataOffset = Number(run.getBigUint64(off.io.data_offset, true));
        if (run.getUint8(off.io.direction) === KVM_EXIT_IO_OUT) {
          const data = Array.from({ length: count }, (_, i) => readLittleEndian(run, dataOffset + i * size, size));
          return { kind: 'io', direction: 'out', port, size, count, data };
        }
        // The guest reads whatever the buffer holds on the next KVM_RUN:
        // zeros unless a write to `run` supplies values (writeExitInput).
        new Uint8Array(run.buffer, run.byteOffset + dataOffset, size * count).fill(0);
        return { kind: 'io', direction: 'in', port, size, count };
      }
      case exitReasons.KVM_EXIT_MMIO: {
        const len = run.getUint32(off.mmio.len, true);
        const addr = run.getBigUint64(off.mmio.phys_addr, true);
        if (run.getUint8(off.mmio.is_write)) {
          return { kind: 'mmio', isWrite: true, addr, len, data: readLittleEndian(run, off.mmio.data, len) };
        }
        new Uint8Array(run.buffer, run.byteOffset + off.mmio.data, 8).fill(0);
        return { kind: 'mmio', isWrite: false, addr, len };
      }
      case exitReasons.KVM_EXIT_HLT:
        return { kind: 'hlt' };
      case exitReasons.KVM_EXIT_SHUTDOWN:
        return { kind: 'shutdown' };
      case exitReasons.KVM_EXIT_FAIL_ENTRY:
        return {
          kind: 'fail_entry',
          reason: run.getBigUint64(off.fail_entry.hardware_entry_failure_reason, true),
          cpu: run.getUint32(off.fail_entry.cpu, true),
        };
      case exitReasons.KVM_EXIT_INTERNAL_ERROR:
        return { kind: 'internal_error', suberror: run.getUint32(off.internal.suberror, true) };
      case exitReasons.KVM_EXIT_DEBUG:
        return { kind: 'debug', pc: run.getBigUint64(off.debug.pc, true), exception: run.getUint32(off.debug.exception, true) };
      case exitReasons.KVM_EXIT_INTR:
        return { kind: 'intr' };
      case exitReasons.KVM_EXIT_SYSTEM_EVENT:
        return { kind: 'system_event', type: run.getUint32(off.system_event.type, true), flags: run.getBigUint64(off.system_event.flags, true) };
      case exitReasons.KVM_EXIT_UNKNOWN:
        return { kind: 'unknown', reason, hardwareExitReason: run.getBigUint64(off.hw.hardware_exit_reason, true) };
      default:
        return { kind: 'unknown', reason };
    }
  }

  /**
   * Stores what the guest reads to complete an `io in` or `mmio read` exit;
   * KVM copies it into the guest on the next KVM_RUN.
   */
  writeExitInput(exit: VcpuExit, input: ExitInput): void {
    const run = this.kvmRun;
    if (exit.kind === 'io' && exit.direction === 'in') {
      const dataOffset = Number(run.getBigUint64(off.io.data_offset, true));
      input.values.forEach((value, i) => writeLittleEndian(run, dataOffset + i * exit.size, exit.size, value));
    } else if (exit.kind === 'mmio' && !exit.isWrite) {
      writeLittleEndian(run, off.mmio.data, exit.len, input.values[0] ?? 0n);
    }
  }

  close(): void {
    munmap(this.kvmRunPointer, this.runSize);
    close(this.fd);
  }
}

function readLittleEndian(view: DataView, offset: number, size: number): bigint {
  let value = 0n;
  for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(view.getUint8(offset + i));
  return value;
}

function writeLittleEndian(view: DataView, offset: number, size: number, value: bigint): void {
  for (let i = 0; i < size; i++) view.setUint8(offset + i, Number((value >> BigInt(8 * i)) & 0xffn));
}

function decodeSegment(raw: Raw): Segment {
  return {
    base: u64(raw.base), limit: Number(raw.limit), selector: Number(raw.selector), type: Number(raw.type),
    present: Number(raw.present), dpl: Number(raw.dpl), db: Number(raw.db), s: Number(raw.s),
    l: Number(raw.l), g: Number(raw.g), avl: Number(raw.avl), unusable: Number(raw.unusable),
  };
}

function decodeDtable(raw: Raw): Dtable {
  return { base: u64(raw.base), limit: Number(raw.limit) };
}

function decodeSregs(raw: Raw): Sregs {
  const sregs: Record<string, unknown> = {};
  for (const name of SEGMENT_NAMES) sregs[name] = decodeSegment(raw[name] as Raw);
  for (const name of DTABLE_NAMES) sregs[name] = decodeDtable(raw[name] as Raw);
  for (const name of CONTROL_REG_NAMES) sregs[name] = u64(raw[name]);
  sregs.interrupt_bitmap = (raw.interrupt_bitmap as unknown[]).map(u64);
  return sregs as Sregs;
}

function encodeSregs(sregs: Sregs): Raw {
  const raw: Raw = { ...sregs };
  for (const name of SEGMENT_NAMES) raw[name] = { ...sregs[name], padding: 0 };
  for (const name of DTABLE_NAMES) raw[name] = { ...sregs[name], padding: [0, 0, 0] };
  return raw;
}
