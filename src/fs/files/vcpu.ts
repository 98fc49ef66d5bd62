// A vcpu's files: regs, sregs, run, interrupt, stop. Each write is parsed
// whole before anything is applied, and applied with one ioctl.
import { errno, FsError } from '../errors.js';
import { parseRegs, renderRegs } from '../format/regs.js';
import { applySregsPatch, parseSregs, renderSregs } from '../format/sregs.js';
import { parseExitInput, renderExit } from '../format/exit.js';
import { parseInterrupt } from '../format/interrupt.js';
import type { Attributes, SharedFile, SnapshotFile } from '../node.js';
import type { SharedVcpu } from '../../backend/hypervisor.js';

function refuseWhileRunning(vcpu: SharedVcpu): void {
  if (vcpu.running) throw new FsError(errno.EBUSY, 'the vcpu is running (write stop first)');
}

/**
 * A register file: a read renders a snapshot; a write is parsed whole, then
 * applied over the current state with one ioctl.
 */
function stateFile<State, Patch>(attr: Attributes, vcpu: SharedVcpu, shared: SharedFile | undefined, codec: {
  get: () => State;
  set: (state: State) => void;
  render: (state: State) => string;
  parse: (text: string) => Patch;
  apply: (current: State, patch: Patch) => State;
}): SnapshotFile {
  return {
    kind: 'snapshot',
    attr,
    shared,
    read: () => codec.render(codec.get()),
    write(text) {
      const patch = codec.parse(text);
      refuseWhileRunning(vcpu);
      codec.set(codec.apply(codec.get(), patch));
    },
  };
}

export function regsFile(vcpu: SharedVcpu, attr: Attributes): SnapshotFile {
  return stateFile(attr, vcpu, { kind: 'regs', vcpu: vcpu.share }, {
    get: () => vcpu.getRegs(),
    set: (regs) => vcpu.setRegs(regs),
    render: renderRegs,
    parse: parseRegs,
    apply: (current, patch) => ({ ...current, ...patch }),
  });
}

export function sregsFile(vcpu: SharedVcpu, attr: Attributes): SnapshotFile {
  return stateFile(attr, vcpu, undefined, {
    get: () => vcpu.getSregs(),
    set: (sregs) => vcpu.setSregs(sregs),
    render: renderSregs,
    parse: parseSregs,
    apply: applySregsPatch,
  });
}

/**
 * A read runs the vcpu to its next exit (blocking the thread that reads: a
 * FUSE reader thread, never the main thread); a write answers an `io in`
 * or `mmio read`.
 */
export function runFile(vcpu: SharedVcpu, attr: Attributes, runTimeoutMs: number): SnapshotFile {
  return {
    kind: 'snapshot',
    attr,
    shared: { kind: 'run', vcpu: vcpu.share },
    read: () => renderExit(vcpu.run(runTimeoutMs)),
    write(text) {
      // While it runs there is no exit to answer yet: busy, not malformed.
      refuseWhileRunning(vcpu);
      const exit = vcpu.lastExit;
      const input = parseExitInput(text, exit);
      if (exit) vcpu.supplyInput(exit, input);
    },
  };
}

export function interruptFile(vcpu: SharedVcpu, attr: Attributes): SnapshotFile {
  return {
    kind: 'snapshot',
    attr,
    write(text) {
      const vector = parseInterrupt(text);
      try {
        vcpu.interrupt(vector);
      } catch (error) {
        // KVM_INTERRUPT is for a userspace irqchip only
        if ((error as { errno?: unknown }).errno !== errno.ENXIO) throw error;
        throw new FsError(errno.ENXIO, `${(error as Error).message}: the VM has an in-kernel irqchip: raise a line with irq (echo <gsi> > irq), or set the vector's bit in lapic's irr`);
      }
    },
  };
}

export function stopFile(vcpu: SharedVcpu, attr: Attributes): SnapshotFile {
  return { kind: 'snapshot', attr, write: () => vcpu.stop() };
}
