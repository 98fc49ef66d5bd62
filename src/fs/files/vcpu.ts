// A vcpu's files: regs, sregs, run, interrupt, stop. Each write is parsed
// whole before anything is applied, and applied with one ioctl. run and
// regs are also served by FUSE reader threads (offThread): there the same
// functions build them on a SharedVcpu attached to the vcpu's share.
import { errno, FsError } from '../errors.js';
import { parseRegs, renderRegs } from '../format/regs.js';
import { applySregsPatch, parseSregs, renderSregs } from '../format/sregs.js';
import { parseExitInput, renderExit } from '../format/exit.js';
import { parseInterrupt } from '../format/interrupt.js';
import { offThreadAttributes, type Attributes, type OffThread, type PseudoFile, type SnapshotFile } from '../node.js';
import { SharedVcpu } from '../../backend/shared-vcpu.js';
import { isClosed, type VcpuShare } from '../../backend/vcpu-protocol.js';
import { stateFile } from './state-file.js';

/** What a reader thread needs to build `run`: the vcpu, and the mount's --run-timeout. */
interface RunShare {
  vcpu: VcpuShare;
  runTimeoutMs: number;
}

function refuseWhileRunning(vcpu: SharedVcpu): void {
  if (vcpu.running) throw new FsError(errno.EBUSY, 'the vcpu is running (write stop first)');
}

/** Served by reader threads as `factory` of offThreadFiles, on a SharedVcpu of its own. */
function onVcpu(factory: string, vcpu: SharedVcpu, share: unknown = vcpu.share): OffThread {
  return { factory, share, gone: () => isClosed(vcpu.share) };
}

/**
 * The registers of an idle vcpu change only when it runs or its state is
 * written, each of which moves its state version on: the text rendered at
 * one version is kept until the next (QEMU keeps a vcpu's registers so,
 * fetched once per exit). A running vcpu is always paused and asked.
 */
function renderedOncePerVersion(vcpu: SharedVcpu, render: () => string): () => string {
  let kept: { version: number; text: string } | undefined;
  return () => {
    const version = vcpu.stateVersion;
    if (kept && kept.version === version) return kept.text;
    const text = render();
    kept = version === undefined ? undefined : { version, text };
    return text;
  };
}

export function regsFile(vcpu: SharedVcpu, attr: Attributes): SnapshotFile {
  return stateFile(vcpu, attr, {
    set: 'KVM_SET_REGS',
    get: (fd) => fd.getRegs(),
    render: renderRegs,
    parse: parseRegs,
    update: (fd, patch) => fd.setRegs({ ...fd.getRegs(), ...patch }),
    offThread: onVcpu('regs', vcpu),
    cacheRead: renderedOncePerVersion,
  });
}

export function sregsFile(vcpu: SharedVcpu, attr: Attributes): SnapshotFile {
  return stateFile(vcpu, attr, {
    set: 'KVM_SET_SREGS',
    get: (fd) => fd.getSregs(),
    render: renderSregs,
    parse: parseSregs,
    update: (fd, patch) => fd.setSregs(applySregsPatch(fd.getSregs(), patch)),
  });
}

/**
 * A read runs the vcpu to its next exit on the thread that reads (a FUSE
 * reader thread, never the main thread: see interrupt); a write answers an
 * `io in` or `mmio read`.
 */
export function runFile(vcpu: SharedVcpu, attr: Attributes, runTimeoutMs: number): SnapshotFile {
  const share: RunShare = { vcpu: vcpu.share, runTimeoutMs };
  return {
    kind: 'snapshot',
    attr,
    offThread: onVcpu('run', vcpu, share),
    read() {
      if (vcpu.running) throw new FsError(errno.EBUSY, 'another reader holds the run (one run at a time per vcpu; write stop to end it)');
      return renderExit(vcpu.run(runTimeoutMs));
    },
    interrupt: () => vcpu.stop(),
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
  return { kind: 'snapshot', attr, anyWrite: true, write: () => vcpu.stop() };
}

/** The vcpu files reader threads serve (OffThread.factory), built there as here. */
export const vcpuOffThreadFiles: Record<string, (share: never) => PseudoFile> = {
  run: (share: RunShare) => runFile(new SharedVcpu(share.vcpu), offThreadAttributes, share.runTimeoutMs),
  regs: (share: VcpuShare) => regsFile(new SharedVcpu(share), offThreadAttributes),
};
