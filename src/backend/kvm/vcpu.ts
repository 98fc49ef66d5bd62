// A vcpu fd: vcpu ioctls (rust-vmm's VcpuFd) and its struct kvm_run page.
// Every call is synchronous, on whichever thread needs it
// (src/backend/shared-vcpu.ts); tests make them in-process.
import { check, close, errno, ioctlPointer, ioctlValue, ioctlWith, koffi, mmap, munmap, MAP_FAILED, MAP_SHARED, PROT_READ, PROT_WRITE, SysError } from './libc.js';
import { ioctls } from './abi.js';
import { decodeRegs, decodeSregs, encodeRegs, encodeSregs, REGS_SIZE, SREGS_SIZE } from './codec.js';
import { KvmRunPage } from './kvm-run.js';
import { debugIoctls } from './abi-debug.js';
import { decodeTranslation } from './debug-codec.js';
import type { Regs, Sregs } from '../types.js';
import { controllerIoctls } from './abi-controllers.js';
import { decodeLapic, encodeLapic, LAPIC_STATE_SIZE } from './codec-controllers.js';
import type { LapicPage } from '../controller-types.js';
import { StatsFd } from './stats-fd.js';
import { stateIoctls, stateSizes } from './abi-state.js';
import {
  cpuid2Rooms, decodeCpuid2, decodeDebugregs, decodeFpu, decodeMsrs, decodeVcpuEvents, decodeXcrs, encodeCpuid2,
  encodeDebugregs, encodeFpu, encodeMsrs, encodeVcpuEvents, encodeXcrs, newCpuid2, newView, viewBytes,
} from './codec-state.js';
import type { CpuidEntry, Debugregs, Fpu, MsrEntry, VcpuEvents, Xcr } from '../types-state.js';
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

  // The state beyond regs and sregs (abi-state.ts): each method is its ioctl.

  getFpu(): Fpu {
    return decodeFpu(this.getStruct('KVM_GET_FPU', stateSizes.kvm_fpu));
  }

  setFpu(fpu: Fpu): void {
    const view = newView(stateSizes.kvm_fpu);
    encodeFpu(fpu, view);
    this.setStruct('KVM_SET_FPU', view);
  }

  /** KVM_GET_XSAVE: the 4096-byte struct kvm_xsave. */
  getXsave(): Uint8Array {
    return viewBytes(this.getStruct('KVM_GET_XSAVE', stateSizes.kvm_xsave));
  }

  /** KVM_GET_XSAVE2: the XSAVE area of `size` bytes (KVM_CAP_XSAVE2's value). */
  getXsave2(size: number): Uint8Array {
    const bytes = new Uint8Array(size);
    check('KVM_GET_XSAVE2', ioctlPointer(this.fd, stateIoctls.KVM_GET_XSAVE2, bytes));
    return bytes;
  }

  /** KVM_SET_XSAVE: KVM reads as many bytes as KVM_GET_XSAVE(2) gave. */
  setXsave(area: Uint8Array): void {
    check('KVM_SET_XSAVE', ioctlPointer(this.fd, stateIoctls.KVM_SET_XSAVE, area));
  }

  getXcrs(): Xcr[] {
    return decodeXcrs(this.getStruct('KVM_GET_XCRS', stateSizes.kvm_xcrs));
  }

  setXcrs(xcrs: Xcr[]): void {
    const view = newView(stateSizes.kvm_xcrs);
    encodeXcrs(xcrs, view);
    this.setStruct('KVM_SET_XCRS', view);
  }

  /** KVM_GET_MSRS: KVM stops at the first index it cannot read, so the result may be a prefix of `indices`. */
  getMsrs(indices: number[]): MsrEntry[] {
    const view = encodeMsrs(indices);
    return decodeMsrs(view, check('KVM_GET_MSRS', ioctlPointer(this.fd, stateIoctls.KVM_GET_MSRS, viewBytes(view))));
  }

  /** KVM_SET_MSRS: how many of `entries`, from the first, KVM took. */
  setMsrs(entries: MsrEntry[]): number {
    return check('KVM_SET_MSRS', ioctlPointer(this.fd, stateIoctls.KVM_SET_MSRS, viewBytes(encodeMsrs(entries))));
  }

  /** KVM_GET_CPUID2, offering more room while KVM says E2BIG (it does not say how much it needs). */
  getCpuid2(): CpuidEntry[] {
    for (const room of cpuid2Rooms()) {
      const view = newCpuid2(room);
      if (ioctlPointer(this.fd, stateIoctls.KVM_GET_CPUID2, viewBytes(view)) === 0) return decodeCpuid2(view);
      if (koffi.errno() !== errno.E2BIG) break;
    }
    throw new SysError('KVM_GET_CPUID2', koffi.errno());
  }

  setCpuid2(entries: CpuidEntry[]): void {
    this.setStruct('KVM_SET_CPUID2', encodeCpuid2(entries));
  }

  getVcpuEvents(): VcpuEvents {
    return decodeVcpuEvents(this.getStruct('KVM_GET_VCPU_EVENTS', stateSizes.kvm_vcpu_events));
  }

  setVcpuEvents(events: VcpuEvents): void {
    const view = newView(stateSizes.kvm_vcpu_events);
    encodeVcpuEvents(events, view);
    this.setStruct('KVM_SET_VCPU_EVENTS', view);
  }

  /** KVM_GET_MP_STATE: a KVM_MP_STATE_* value. */
  getMpState(): number {
    return this.getStruct('KVM_GET_MP_STATE', stateSizes.kvm_mp_state).getUint32(0, true);
  }

  setMpState(state: number): void {
    const view = newView(stateSizes.kvm_mp_state);
    view.setUint32(0, state, true);
    this.setStruct('KVM_SET_MP_STATE', view);
  }

  getDebugregs(): Debugregs {
    return decodeDebugregs(this.getStruct('KVM_GET_DEBUGREGS', stateSizes.kvm_debugregs));
  }

  setDebugregs(regs: Debugregs): void {
    const view = newView(stateSizes.kvm_debugregs);
    encodeDebugregs(regs, view);
    this.setStruct('KVM_SET_DEBUGREGS', view);
  }

  /** KVM_NMI: queue a non-maskable interrupt. */
  nmi(): void {
    check('KVM_NMI', ioctlValue(this.fd, stateIoctls.KVM_NMI, 0));
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

  /** A fixed-size struct filled by the get ioctl `name`. */
  private getStruct(name: keyof typeof stateIoctls, size: number): DataView {
    const view = newView(size);
    check(name, ioctlPointer(this.fd, stateIoctls[name], viewBytes(view)));
    return view;
  }

  private setStruct(name: keyof typeof stateIoctls, view: DataView): void {
    check(name, ioctlPointer(this.fd, stateIoctls[name], viewBytes(view)));
  }

  private scratchBytes(length: number): Uint8Array {
    return new Uint8Array(this.scratch.buffer, 0, length);
  }
}
