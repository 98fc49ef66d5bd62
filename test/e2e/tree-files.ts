// The names and modes of the files kvmfs serves, as docs/interface.md's tree
// lists them (sorted in the C locale, as `LC_ALL=C ls` shows them). One copy
// for the suites that assert a listing, so a new file is added in one place.
import type { Mount } from './harness.js';

/** The top of the mount (VMs come after, as directories). */
export const TOP_FILES = ['api_version', 'capabilities', 'last_error', 'msr_index_list', 'supported_cpuid'];

/** A VM directory's files and their modes, as `ls -l` shows them (vcpus come after). */
export const VM_MODES: ReadonlyArray<readonly [string, string]> = [
  ['clock', '-rw-------'], ['console', '-r--------'], ['console_ports', '-rw-------'], ['dirty_log', '-r--------'],
  ['identity_map_addr', '-rw-------'], ['ioapic', '-rw-------'], ['irq', '--w-------'], ['irqchip', '-rw-------'],
  ['last_error', '-r--------'], ['memory', '-rw-------'], ['pic_master', '-rw-------'], ['pic_slave', '-rw-------'],
  ['pit', '-rw-------'], ['stats', '-r--------'], ['tss_addr', '-rw-------'],
];

/** A vcpu directory's files and their modes, as `ls -l` shows them. */
export const VCPU_MODES: ReadonlyArray<readonly [string, string]> = [
  ['cpuid', '-rw-------'], ['debug', '-rw-------'], ['debugregs', '-rw-------'], ['events', '-rw-------'],
  ['fpu', '-rw-------'], ['interrupt', '--w-------'], ['lapic', '-rw-------'], ['mp_state', '-rw-------'],
  ['msrs', '-rw-------'], ['nmi', '--w-------'], ['regs', '-rw-------'], ['run', '-rw-------'],
  ['sregs', '-rw-------'], ['stats', '-r--------'], ['stop', '--w-------'], ['translate', '-rw-------'],
  ['xcrs', '-rw-------'], ['xsave', '-rw-------'],
];

export const VM_FILES = VM_MODES.map(([name]) => name);
export const VCPU_FILES = VCPU_MODES.map(([name]) => name);

/** `ls -1` (one name per line, sorted in the C locale) of a path under the mount. */
export async function list(mount: Mount, path: string): Promise<string[]> {
  const out = await mount.ok(`LC_ALL=C ls -1A "$M"/${path}`);
  return out === '' ? [] : out.trimEnd().split('\n');
}
