// Debugging a vcpu: debug (KVM_SET_GUEST_DEBUG) and translate (KVM_TRANSLATE).
import { applyGuestDebugText, parseAddresses, renderGuestDebug, renderTranslations } from '../format/debug.js';
import { tokenLines } from '../format/lines.js';
import { linearRip } from '../../backend/guest-debug.js';
import { modes, type FileEntries, type SnapshotFile, type VcpuContext } from '../node.js';

/**
 * Shows the guest debugging last set (KVM has no getter; a new vcpu has
 * everything off); a write changes the settings it names, with one
 * KVM_SET_GUEST_DEBUG, refused with EBUSY while the vcpu runs.
 */
function debugFile({ vcpu, file }: VcpuContext): SnapshotFile {
  return {
    kind: 'snapshot',
    attr: file(modes.ownerReadWrite),
    read: () => renderGuestDebug(vcpu.guestDebug.get()),
    write(text) {
      if (tokenLines(text).length === 0) return;
      const next = applyGuestDebugText(vcpu.guestDebug.get(), text);
      vcpu.idle('KVM_SET_GUEST_DEBUG', (fd) => vcpu.guestDebug.set(fd, next));
    },
  };
}

/**
 * A write gives the linear addresses to translate; each read translates
 * them with the paging of that moment (the current rip's until a write).
 */
function translateFile({ vcpu, file }: VcpuContext): SnapshotFile {
  let addresses: bigint[] | undefined;
  return {
    kind: 'snapshot',
    attr: file(modes.ownerReadWrite),
    read: () => renderTranslations(vcpu.paused((fd) => (addresses ?? [linearRip(fd)]).map((address) => fd.translate(address)))),
    write(text) {
      const parsed = parseAddresses(text);
      if (parsed.length > 0) addresses = parsed;
    },
  };
}

export function debugFiles(context: VcpuContext): FileEntries {
  return [
    ['debug', debugFile(context)],
    ['translate', translateFile(context)],
  ];
}
