// A vcpu fd: vcpu ioctls (rust-vmm's VcpuFd) and its struct kvm_run page.
// Every call is synchronous, on whichever thread needs it
// (src/backend/shared-vcpu.ts); tests make them in-process.
import { check, close, ioctlPointer, ioctlValue, ioctlWith, koffi, mmap, munmap, MAP_FAILED, MAP_SHARED, PROT_READ, PROT_WRITE, SysError } from './libc.js';
import { ioctls } from './abi.js';
import { decodeRegs, decodeSregs, encodeRegs, encodeSregs, REGS_SIZE, SREGS_SIZE } from './codec.js';
import { KvmRunPage } from './kvm-run.js';
import { debugIoctls } from './abi-debug.js';
import { decodeTranslation } from './debug-codec.js';
import type { Regs, Sregs } from '../types.js';
import type { Translation } from '../guest-debug.js';

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

  /** KVM_SET_GUEST_DEBUG with the bytes of a struct kvm_guest_debug (debug-codec.ts). */
  setGuestDebug(source: Uint8Array): void {
    check('KVM_SET_GUEST_DEBUG', ioctlPointer(this.fd, debugIoctls.KVM_SET_GUEST_DEBUG, source));
  }

  /** KVM_TRANSLATE: a linear address through the vcpu's current paging. */
  translate(linear: bigint): Translation {
    const view = new DataView(new ArrayBuffer(24));
    view.setBigUint64(0, linear, true);
    check('KVM_TRANSLATE', ioctlPointer(this.fd, debugIoctls.KVM_TRANSLATE, new Uint8Array(view.buffer)));
    return decodeTranslation(view);
  }

  close(): void {
    munmap(this.kvmRunPointer, this.kvmRunSize);
    close(this.fd);
  }

  private scratchBytes(length: number): Uint8Array {
    return new Uint8Array(this.scratch.buffer, 0, length);
  }
}
