// Files at the top of the mount that describe what KVM offers: supported_cpuid, msr_index_list.
import type { FileEntries, RootContext } from '../node.js';

export function systemStateFiles(_context: RootContext): FileEntries {
  return [];
}
