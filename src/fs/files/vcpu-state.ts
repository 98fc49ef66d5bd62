// A vcpu's state files beyond regs and sregs: fpu, xsave, xcrs, msrs (in
// msrs.ts), cpuid, events, mp_state, debugregs, nmi.
import { errno, FsError } from '../errors.js';
import { applyCpuid, parseCpuid, renderCpuid } from '../format/cpuid.js';
import { applyEvents, parseEvents, parseMpState, renderEvents, renderMpState } from '../format/events.js';
import { parseDebugregs, parseFpu, renderDebugregs, renderFpu } from '../format/fpu.js';
import { applyXcrs, parseXcrs, renderXcrs } from '../format/xcrs.js';
import { modes, type Attributes, type FileEntries, type SnapshotFile, type VcpuContext } from '../node.js';
import { msrsFile } from './msrs.js';
import { stateFile } from './state-file.js';
import { fpuSetIoctl, readFpu, writeFpu } from '../../backend/fpu-state.js';
import { vcpuEventsValid } from '../../backend/kvm/abi-state.js';
import type { HostState, SharedVcpu } from '../../backend/hypervisor.js';

/** What KVM_SET_VCPU_EVENTS is to take from the file: every part it shows. */
const EVENTS_VALID = vcpuEventsValid.NMI_PENDING | vcpuEventsValid.SIPI_VECTOR | vcpuEventsValid.SHADOW | vcpuEventsValid.SMM;

/** fpu: through the XSAVE area where KVM has it (src/backend/fpu-state.ts says why). */
function fpuFile(vcpu: SharedVcpu, host: HostState, attr: Attributes): SnapshotFile {
  return stateFile(vcpu, attr, {
    set: fpuSetIoctl(host), get: (fd) => readFpu(fd, host), render: renderFpu, parse: parseFpu,
    update: (fd, patch) => writeFpu(fd, host, patch),
  });
}

/** The XSAVE area as bytes; a write must be the whole area. */
function xsaveFile(vcpu: SharedVcpu, host: HostState, attr: Attributes): SnapshotFile {
  return {
    kind: 'snapshot',
    attr,
    size: () => host.xsaveSize,
    read: () => Buffer.from(vcpu.paused((fd) => host.readXsave(fd))),
    write(text, bytes) {
      if (bytes.length !== host.xsaveSize) {
        if (text.trim() === '') return;
        throw new FsError(errno.EINVAL, `a write is the whole ${host.xsaveSize}-byte XSAVE area, not ${bytes.length} bytes`);
      }
      vcpu.idle('KVM_SET_XSAVE', (fd) => fd.setXsave(bytes));
    },
  };
}

export function vcpuStateFiles({ vcpu, vm, file }: VcpuContext): FileEntries {
  return [
    ['fpu', fpuFile(vcpu, vm.host, file(modes.ownerReadWrite))],
    ['xsave', xsaveFile(vcpu, vm.host, file(modes.ownerReadWrite))],
    ['xcrs', stateFile(vcpu, file(modes.ownerReadWrite), {
      set: 'KVM_SET_XCRS', get: (fd) => fd.getXcrs(), render: renderXcrs, parse: parseXcrs,
      update: (fd, changes) => fd.setXcrs(applyXcrs(fd.getXcrs(), changes)),
    })],
    ['msrs', msrsFile(vcpu, vm.host, file(modes.ownerReadWrite))],
    ['cpuid', stateFile(vcpu, file(modes.ownerReadWrite), {
      set: 'KVM_SET_CPUID2', get: (fd) => fd.getCpuid2(), render: renderCpuid, parse: parseCpuid,
      update: (fd, changes) => fd.setCpuid2(applyCpuid(fd.getCpuid2(), changes)),
    })],
    ['events', stateFile(vcpu, file(modes.ownerReadWrite), {
      set: 'KVM_SET_VCPU_EVENTS', get: (fd) => fd.getVcpuEvents(), render: renderEvents, parse: parseEvents,
      update: (fd, patch) => fd.setVcpuEvents({ ...applyEvents(fd.getVcpuEvents(), patch), flags: EVENTS_VALID }),
    })],
    ['mp_state', stateFile(vcpu, file(modes.ownerReadWrite), {
      set: 'KVM_SET_MP_STATE', get: (fd) => fd.getMpState(), render: renderMpState, parse: parseMpState,
      update: (fd, state) => fd.setMpState(state),
    })],
    ['debugregs', stateFile(vcpu, file(modes.ownerReadWrite), {
      set: 'KVM_SET_DEBUGREGS', get: (fd) => fd.getDebugregs(), render: renderDebugregs, parse: parseDebugregs,
      update: (fd, patch) => fd.setDebugregs({ ...fd.getDebugregs(), ...patch }),
    })],
    // any write is one KVM_NMI (the contract: even an empty one, as for stop); a running vcpu is paused for it, as for `interrupt`
    ['nmi', { kind: 'snapshot', attr: file(modes.ownerWrite), anyWrite: true, write: () => vcpu.paused((fd) => fd.nmi()) }],
  ];
}
