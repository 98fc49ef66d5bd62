// Files at the top of the mount: api_version and capabilities. Reader
// threads serve their reads too (offThread): each read is the ioctl, on the
// process's /dev/kvm fd, from whichever thread takes it.
import { renderCapabilities } from '../format/capabilities.js';
import { offThreadAttributes, type Attributes, type OffThread, type SnapshotFile } from '../node.js';
import { SystemQueries } from '../../backend/hypervisor.js';

/** Served by reader threads as `factory` of systemOffThreadFiles; the system fd lasts as long as the mount. */
function onSystem(factory: string, system: SystemQueries): OffThread {
  return { factory, share: system.fd, gone: () => false };
}

export function apiVersionFile(system: SystemQueries, attr: Attributes): SnapshotFile {
  return { kind: 'snapshot', attr, offThread: onSystem('apiVersion', system), read: () => `${system.apiVersion}\n` };
}

export function capabilitiesFile(system: SystemQueries, attr: Attributes): SnapshotFile {
  return { kind: 'snapshot', attr, offThread: onSystem('capabilities', system), read: () => renderCapabilities(system.capabilities()) };
}

/** The factories of the files above, for reader threads (off-thread.ts). */
export const systemOffThreadFiles = {
  apiVersion: (fd: number) => apiVersionFile(SystemQueries.attach(fd), offThreadAttributes),
  capabilities: (fd: number) => capabilitiesFile(SystemQueries.attach(fd), offThreadAttributes),
};
