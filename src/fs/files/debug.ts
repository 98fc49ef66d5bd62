// Debugging a vcpu: debug (KVM_SET_GUEST_DEBUG) and translate (KVM_TRANSLATE).
import type { FileEntries, VcpuContext } from '../node.js';

export function debugFiles(_context: VcpuContext): FileEntries {
  return [];
}
