// Files at the top of the mount: api_version and capabilities.
import { renderCapabilities } from '../format/capabilities.js';
import type { Attributes, SnapshotFile } from '../node.js';
import type { Hypervisor } from '../../backend/hypervisor.js';

export function apiVersionFile(hypervisor: Hypervisor, attr: Attributes): SnapshotFile {
  return { kind: 'snapshot', attr, read: () => `${hypervisor.apiVersion}\n` };
}

export function capabilitiesFile(hypervisor: Hypervisor, attr: Attributes): SnapshotFile {
  return { kind: 'snapshot', attr, read: () => renderCapabilities(hypervisor.capabilities()) };
}
