// Which state files a save holds, and the order restore writes them back in.
//
// The order follows what KVM checks (Documentation/virt/kvm/api.rst) and the
// order QEMU (kvm_arch_put_registers) and Firecracker (restore_state) put
// state back in:
// - tss_addr, identity_map_addr and irqchip before the first vcpu exists
//   (KVM_SET_IDENTITY_MAP_ADDR and KVM_CREATE_IRQCHIP fail after it), the PIT
//   created after the irqchip (KVM_CREATE_PIT2 needs it);
// - memory's size before its contents, and both before any vcpu state;
// - per vcpu: cpuid first (KVM checks xsave, xcrs and msrs against the
//   guest's cpuid, and refuses a new cpuid after the first run), sregs
//   before regs (sregs sets the mode regs are read in), fpu before xsave
//   (xsave is the superset and wins), lapic after sregs (apic_base sets the
//   APIC's mode) and before msrs (the TSC deadline MSR needs the APIC),
//   events after regs (KVM_SET_REGS drops a pending exception), mp_state
//   last (KVM_SET_SREGS may reset it);
// - the chips' and the PIT's state after the vcpus, the clock last of all,
//   so that guest time starts from the saved value as the guest goes on.

/** What a saved file holding only this word means: nothing to restore (no irqchip, no PIT, never set). */
export const NONE = 'none';

export interface StateFile {
  name: string;
  /** Only meaningful with an in-kernel irqchip: saved as "none" without one. */
  needsIrqchip?: boolean;
  /**
   * One line, one setting, each taken on its own: restore writes only the
   * lines the new VM does not show already.
   */
  linewise?: boolean;
}

/** A VM's files in the order restore writes them (those before memory first). */
export const VM_FILES_BEFORE_VCPUS: readonly StateFile[] = [
  { name: 'tss_addr' },
  { name: 'identity_map_addr' },
  { name: 'irqchip' },
];

export const VM_FILES_AFTER_VCPUS: readonly StateFile[] = [
  { name: 'console_ports' },
  { name: 'pic_master', needsIrqchip: true },
  { name: 'pic_slave', needsIrqchip: true },
  { name: 'ioapic', needsIrqchip: true },
  { name: 'pit' },
  { name: 'clock' },
];

/** A vcpu's files in the order restore writes them. */
export const VCPU_FILES: readonly StateFile[] = [
  { name: 'cpuid' },
  { name: 'sregs' },
  { name: 'regs' },
  { name: 'fpu' },
  { name: 'xsave' }, // binary: every file is kept byte for byte
  { name: 'xcrs' },
  { name: 'lapic', needsIrqchip: true },
  // KVM_GET_MSRS shows MSRs that KVM_SET_MSRS refuses even unchanged
  // (MSR_KVM_ASYNC_PF_INT without an in-kernel LAPIC): only changes are written.
  { name: 'msrs', linewise: true },
  { name: 'debugregs' },
  { name: 'debug' },
  { name: 'events' },
  { name: 'mp_state' },
];

export const VM_FILES: readonly StateFile[] = [...VM_FILES_BEFORE_VCPUS, ...VM_FILES_AFTER_VCPUS];

/** vcpu<N> directory names, by N. */
export function vcpuName(index: number): string {
  return `vcpu${index}`;
}

/** The vcpu numbers among a VM directory's entries, ascending. */
export function vcpuIndexes(entries: string[]): number[] {
  return entries
    .map((entry) => /^vcpu(0|[1-9][0-9]*)$/.exec(entry))
    .filter((match) => match !== null)
    .map((match) => Number(match[1]))
    .sort((a, b) => a - b);
}

/** Whether saved content means "nothing to restore": the word none, or nothing at all (console_ports by default). */
export function isNothing(content: Buffer): boolean {
  const text = content.toString('latin1').trim();
  return text === '' || text === NONE;
}

/** One step of a restore, relative to the new VM's directory. */
export type RestoreStep =
  | { kind: 'mkdir'; path: string }
  | { kind: 'write'; path: string; linewise: boolean }
  | { kind: 'create-pit' }
  | { kind: 'memory' };

/**
 * The steps that rebuild a VM from the files a save holds (`saved`: paths
 * relative to the save, each holding something other than "none"), in the
 * order KVM needs (the header comment says why).
 */
export function restorePlan(vcpus: number[], saved: ReadonlySet<string>): RestoreStep[] {
  const writes = (prefix: string, files: readonly StateFile[]): RestoreStep[] => files
    .map((file) => ({ kind: 'write' as const, path: `${prefix}${file.name}`, linewise: file.linewise ?? false }))
    .filter((step) => saved.has(step.path));
  return [
    ...writes('', VM_FILES_BEFORE_VCPUS),
    ...(saved.has('pit') ? [{ kind: 'create-pit' } as const] : []),
    { kind: 'memory' },
    ...vcpus.map((n): RestoreStep => ({ kind: 'mkdir', path: vcpuName(n) })),
    ...vcpus.flatMap((n) => writes(`${vcpuName(n)}/`, VCPU_FILES)),
    ...writes('', VM_FILES_AFTER_VCPUS),
  ];
}
