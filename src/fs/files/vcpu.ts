// A vcpu's files: regs, sregs, run, interrupt, stop. Each write is parsed
// whole before anything is applied, and applied with one ioctl.
import { errno, FsError } from '../errors.js';
import { parseRegs, renderRegs } from '../format/regs.js';
import { applySregsPatch, parseSregs, renderSregs } from '../format/sregs.js';
import { parseExitInput, renderExit } from '../format/exit.js';
import { parseInterrupt } from '../format/interrupt.js';
import type { Attributes, SnapshotFile } from '../node.js';
import type { VcpuThread } from '../../backend/hypervisor.js';

function refuseWhileRunning(vcpu: VcpuThread): void {
  if (vcpu.running) throw new FsError(errno.EBUSY, 'the vcpu is running (write stop first)');
}

export function regsFile(vcpu: VcpuThread, attr: Attributes): SnapshotFile {
  return {
    kind: 'snapshot',
    attr,
    read: async () => renderRegs(await vcpu.getRegs()),
    async write(text) {
      const patch = parseRegs(text);
      refuseWhileRunning(vcpu);
      await vcpu.setRegs({ ...(await vcpu.getRegs()), ...patch });
    },
  };
}

export function sregsFile(vcpu: VcpuThread, attr: Attributes): SnapshotFile {
  return {
    kind: 'snapshot',
    attr,
    read: async () => renderSregs(await vcpu.getSregs()),
    async write(text) {
      const patch = parseSregs(text);
      refuseWhileRunning(vcpu);
      await vcpu.setSregs(applySregsPatch(await vcpu.getSregs(), patch));
    },
  };
}

/** A read runs the vcpu to its next exit; a write answers an `io in` or `mmio read`. */
export function runFile(vcpu: VcpuThread, attr: Attributes, runTimeoutMs: number): SnapshotFile {
  return {
    kind: 'snapshot',
    attr,
    read: async () => renderExit(await vcpu.run(runTimeoutMs)),
    write(text) {
      const input = parseExitInput(text, vcpu.lastExit);
      refuseWhileRunning(vcpu);
      vcpu.supplyInput(input);
    },
  };
}

export function interruptFile(vcpu: VcpuThread, attr: Attributes): SnapshotFile {
  return {
    kind: 'snapshot',
    attr,
    write: (text) => vcpu.interrupt(parseInterrupt(text)),
  };
}

export function stopFile(vcpu: VcpuThread, attr: Attributes): SnapshotFile {
  return { kind: 'snapshot', attr, write: () => vcpu.stop() };
}
