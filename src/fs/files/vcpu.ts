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

/**
 * A register file: a read renders a snapshot; a write is parsed whole, then
 * applied over the current state with one ioctl.
 */
function stateFile<State, Patch>(attr: Attributes, vcpu: VcpuThread, codec: {
  get: () => Promise<State>;
  set: (state: State) => Promise<void>;
  render: (state: State) => string;
  parse: (text: string) => Patch;
  apply: (current: State, patch: Patch) => State;
}): SnapshotFile {
  return {
    kind: 'snapshot',
    attr,
    read: async () => codec.render(await codec.get()),
    async write(text) {
      const patch = codec.parse(text);
      refuseWhileRunning(vcpu);
      await codec.set(codec.apply(await codec.get(), patch));
    },
  };
}

export function regsFile(vcpu: VcpuThread, attr: Attributes): SnapshotFile {
  return stateFile(attr, vcpu, {
    get: () => vcpu.getRegs(),
    set: (regs) => vcpu.setRegs(regs),
    render: renderRegs,
    parse: parseRegs,
    apply: (current, patch) => ({ ...current, ...patch }),
  });
}

export function sregsFile(vcpu: VcpuThread, attr: Attributes): SnapshotFile {
  return stateFile(attr, vcpu, {
    get: () => vcpu.getSregs(),
    set: (sregs) => vcpu.setSregs(sregs),
    render: renderSregs,
    parse: parseSregs,
    apply: applySregsPatch,
  });
}

/** A read runs the vcpu to its next exit; a write answers an `io in` or `mmio read`. */
export function runFile(vcpu: VcpuThread, attr: Attributes, runTimeoutMs: number): SnapshotFile {
  return {
    kind: 'snapshot',
    attr,
    read: async () => renderExit(await vcpu.run(runTimeoutMs)),
    write(text) {
      // While it runs there is no exit to answer yet: busy, not malformed.
      refuseWhileRunning(vcpu);
      vcpu.supplyInput(parseExitInput(text, vcpu.lastExit));
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
