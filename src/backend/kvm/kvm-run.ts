// struct kvm_run, the page a vcpu fd shares with the kernel: why KVM_RUN
// returned, and where user space leaves the data an `io in` or `mmio read`
// completes with. Read and written in place, by whichever thread holds the
// vcpu's turn (src/backend/shared-vcpu.ts): never while KVM_RUN is in progress.
import { exitReasons, KVM_EXIT_IO_OUT, kvmRunOffsets as off } from './abi.js';
import type { ExitInput, VcpuExit } from '../types.js';

export class KvmRunPage {
  constructor(private readonly view: DataView) {}

  set immediateExit(value: boolean) {
    this.view.setUint8(off.immediate_exit, value ? 1 : 0);
  }

  /**
   * Decodes the exit after KVM_RUN returned 0, and zeroes the buffer an
   * `io in` or `mmio read` takes its data from: the guest reads whatever it
   * holds on the next KVM_RUN, so zeros unless a write to `run` supplies
   * values (writeInput). Called once per exit, by the thread that ran it.
   */
  readExit(): VcpuExit {
    const exit = this.peekExit();
    if (exit.kind === 'io' && exit.direction === 'in') this.bytes(this.ioDataOffset(), exit.size * exit.count).fill(0);
    if (exit.kind === 'mmio' && !exit.isWrite) this.bytes(off.mmio.data, 8).fill(0);
    return exit;
  }

  /** Decodes the exit KVM_RUN left, changing nothing. */
  peekExit(): VcpuExit {
    const run = this.view;
    const reason = run.getUint32(off.exit_reason, true);
    switch (reason) {
      case exitReasons.KVM_EXIT_IO: {
        const size = run.getUint8(off.io.size);
        const count = run.getUint32(off.io.count, true);
        const port = run.getUint16(off.io.port, true);
        const dataOffset = this.ioDataOffset();
        if (run.getUint8(off.io.direction) === KVM_EXIT_IO_OUT) {
          const data = Array.from({ length: count }, (_, i) => this.readLittleEndian(dataOffset + i * size, size));
          return { kind: 'io', direction: 'out', port, size, count, data };
        }
        return { kind: 'io', direction: 'in', port, size, count };
      }
      case exitReasons.KVM_EXIT_MMIO: {
        const len = run.getUint32(off.mmio.len, true);
        const addr = run.getBigUint64(off.mmio.phys_addr, true);
        if (run.getUint8(off.mmio.is_write)) {
          return { kind: 'mmio', isWrite: true, addr, len, data: this.readLittleEndian(off.mmio.data, len) };
        }
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
        return {
          kind: 'debug', pc: run.getBigUint64(off.debug.pc, true), exception: run.getUint32(off.debug.exception, true),
          dr6: run.getBigUint64(off.debug.dr6, true), dr7: run.getBigUint64(off.debug.dr7, true),
        };
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
   * Stores what the guest reads to complete the `io in` or `mmio read`
   * `exit`; KVM copies it into the guest on the next KVM_RUN.
   */
  writeInput(exit: VcpuExit, input: ExitInput): void {
    if (exit.kind === 'io' && exit.direction === 'in') {
      const dataOffset = this.ioDataOffset();
      input.values.forEach((value, i) => this.writeLittleEndian(dataOffset + i * exit.size, exit.size, value));
    } else if (exit.kind === 'mmio' && !exit.isWrite) {
      this.writeLittleEndian(off.mmio.data, exit.len, input.values[0] ?? 0n);
    }
  }

  /**
   * The port of an `io out` exit, -1 for any other exit: read in place,
   * allocating nothing, since it is asked after every exit (console.ts).
   */
  get outPort(): number {
    const run = this.view;
    if (run.getUint32(off.exit_reason, true) !== exitReasons.KVM_EXIT_IO || run.getUint8(off.io.direction) !== KVM_EXIT_IO_OUT) return -1;
    return run.getUint16(off.io.port, true);
  }

  /** The bytes of an `io out` exit (count elements of size bytes), in place. */
  outData(): Uint8Array {
    return this.bytes(this.ioDataOffset(), this.view.getUint8(off.io.size) * this.view.getUint32(off.io.count, true));
  }

  private ioDataOffset(): number {
    return Number(this.view.getBigUint64(off.io.data_offset, true));
  }

  private bytes(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.view.buffer, this.view.byteOffset + offset, length);
  }

  private readLittleEndian(offset: number, size: number): bigint {
    let value = 0n;
    for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(this.view.getUint8(offset + i));
    return value;
  }

  private writeLittleEndian(offset: number, size: number, value: bigint): void {
    for (let i = 0; i < size; i++) this.view.setUint8(offset + i, Number((value >> BigInt(8 * i)) & 0xffn));
  }
}
