// A vcpu fd: vcpu ioctls (rust-vmm's VcpuFd) and its struct kvm_run page.
// Every call is synchronous, on whichever thread needs it
// (src/backend/shared-vcpu.ts); tests make them in-process.
import { check, close, ioctlPointer, ioctlValue, ioctlWith, koffi, mmap, munmap, MAP_FAILED, MAP_SHARED, PROT_READ, PROT_WRITE, SysError } from './libc.js';
import { ioctls } from './abi.js';
import { decodeRegs, decodeSregs, encodeRegs, encodeSregs, REGS_SIZE, SREGS_SIZE } from './codec.js';
import { KvmRunPage } from './kvm-run.js';
import type { Regs, Sregs } from '../types.js';
import { controllerIoctls } from './abi-controllers.js';
import { decodeLapic, encodeLapic, LAPIC_STATE_SIZE } from './codec-controllers.js';
import type { LapicPage } from '../controller-types.js';
import { StatsFd } from './stats-fd.js';

const ioctlInterrupt = ioctlWith('const kvm_interrupt *');

export class VcpuFd {
  /** struct kvm_run: the exit, and the input for the next run */
  readonly kvmRun: KvmRunPage;
  private readonly scratch = new DataView(new ArrayBuffer(SREGS_SIZE));

  private constructor(readonly fd: number, readonly kvmRunPointer: bigint, private readonly kvmRunSize: number) {
    this.kvmRun = new KvmRunPage(new DataView(koffi.view(kvmRunPointer, kvmRunSize)));
  }

  /** Another thread's view of a vcpu fd whose kvm_run is already mapped; its owner closes it. */
  static attach(fd: number, kvmRunPointer: bigint, mmapSize: number): VcpuFd {
    return new VcpuFd(fd, kvmRunPointer, mmapSize);
  }

  static fromFd(fd: number, mmapSize: number): VcpuFd {
    const pointer = mmap(null, mmapSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) as bigint;
    if (pointer === MAP_FAILED) {
      const error = new SysError('mmap kvm_run', koffi.errno());
      close(fd);
      throw error;
    }
    return new VcpuFd(fd, pointer, mmapSize);
  }

  /** KVM_RUN. Throws SysError (EINTR when kicked) on failure. */
  run(): void {
    check('KVM_RUN', ioctlValue(this.fd, ioctls.KVM_RUN, 0));
  }

  /** KVM_GET_REGS into `target` (struct kvm_regs bytes). */
  getRegsRaw(target: Uint8Array): void {
    check('KVM_GET_REGS', ioctlPointer(this.fd, ioctls.KVM_GET_REGS, target));
  }

  setRegsRaw(source: Uint8Array): void {
    check('KVM_SET_REGS', ioctlPointer(this.fd, ioctls.KVM_SET_REGS, source));
  }

  getSregsRaw(target: Uint8Array): void {
    check('KVM_GET_SREGS', ioctlPointer(this.fd, ioctls.KVM_GET_SREGS, target));
  }

  setSregsRaw(source: Uint8Array): void {
    check('KVM_SET_SREGS', ioctlPointer(this.fd, ioctls.KVM_SET_SREGS, source));
  }

  getRegs(): Regs {
    this.getRegsRaw(this.scratchBytes(REGS_SIZE));
    return decodeRegs(this.scratch);
  }

  setRegs(regs: Regs): void {
    encodeRegs(regs, this.scratch);
    this.setRegsRaw(this.scratchBytes(REGS_SIZE));
  }

  getSregs(): Sregs {
    this.getSregsRaw(this.scratchBytes(SREGS_SIZE));
    return decodeSregs(this.scratch);
  }

  setSregs(sregs: Sregs): void {
    encodeSregs(sregs, this.scratch);
    this.setSregsRaw(this.scratchBytes(SREGS_SIZE));
  }

  /** KVM_INTERRUPT: queue an external interrupt (userspace irqchip only). */
  interrupt(irq: number): void {
    check('KVM_INTERRUPT', ioctlInterrupt(this.fd, ioctls.KVM_INTERRUPT, { irq }));
  }

  // The local APIC and stats (abi-controllers.ts).

  /** KVM_GET_LAPIC: struct kvm_lapic_state, the APIC's 1 KiB register page. */
  getLapic(): LapicPage {
    const bytes = new Uint8Array(LAPIC_STATE_SIZE);
    check('KVM_GET_LAPIC', ioctlPointer(this.fd, controllerIoctls.KVM_GET_LAPIC, bytes));
    return { bytes, registers: decodeLapic(new DataView(bytes.buffer)) };
  }

  /** KVM_SET_LAPIC of `page.bytes` with `page.registers` written into it. */
  setLapic(page: LapicPage): void {
    const bytes = Uint8Array.from(page.bytes);
    encodeLapic(page.registers, new DataView(bytes.buffer));
    check('KVM_SET_LAPIC', ioctlPointer(this.fd, controllerIoctls.KVM_SET_LAPIC, bytes));
  }

  getStatsFd(): StatsFd {
    return StatsFd.open(check('KVM_GET_STATS_FD', ioctlValue(this.fd, controllerIoctls.KVM_GET_STATS_FD, 0)));
  }

  close(): void {
    munmap(this.kvmRunPointer, this.kvmRunSize);
    close(this.fd);
  }

  private scratchBytes(length: number): Uint8Array {
    return new Uint8Array(this.scratch.buffer, 0, length);
  }
}
