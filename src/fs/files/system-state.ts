// Files at the top of the mount that describe what KVM offers: supported_cpuid, msr_index_list.
import { renderCpuid } from '../format/cpuid.js';
import { renderMsrIndexList } from '../format/msrs.js';
import { modes, type FileEntries, type RootContext } from '../node.js';

export function systemStateFiles({ hypervisor, file }: RootContext): FileEntries {
  return [
    ['supported_cpuid', { kind: 'snapshot', attr: file(modes.readOnly), read: () => renderCpuid(hypervisor.host.supportedCpuid) }],
    ['msr_index_list', { kind: 'snapshot', attr: file(modes.readOnly), read: () => renderMsrIndexList(hypervisor.host.msrIndexList) }],
  ];
}
