// What a reader thread serves on the spot, with no hand-off to the main
// thread: reads of `run` and `regs` and reads and writes of `memory`, for
// files opened with a slot in the OpenTable. A `run` read is one KVM_RUN
// on the reader's own thread. Both kinds of reader (reader-worker.ts on
// /dev/fuse, ring-worker.ts on io_uring) serve through this.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { opcode, writeOut, type IoIn } from './protocol.js';
import { OpenTable, SLOT_HANDLE_BASE } from './open-table.js';
import { pool, type Registration } from './reader-protocol.js';
import { renderExit } from '../format/exit.js';
import { renderRegs } from '../format/regs.js';
import { SharedVcpu } from '../../backend/shared-vcpu.js';
import { GuestMemoryView } from '../../backend/guest-memory.js';

/** A READ or WRITE (isIo: the reader checks before it decodes), as the reader decoded it from wherever it came. */
export interface IoRequest {
  opcode: number;
  unique: bigint;
  io: IoIn;
  /** a WRITE's data */
  data: Uint8Array;
}

/** Whether a request is a READ or WRITE, the only kinds a reader may serve itself. */
export function isIo(op: number): boolean {
  return op === opcode.READ || op === opcode.WRITE;
}

/** Wraps a run: it holds the calling thread for as long as the guest runs. */
export type AroundRun = <T>(run: () => T) => T;

export class SharedFiles {
  private readonly table: OpenTable;
  private readonly vcpus = new Map<number, SharedVcpu>();
  private readonly memories = new Map<number, GuestMemoryView>();
  /** Each vcpu's regs text as last rendered, and the vcpu's state version then. */
  private readonly renderedRegs = new Map<number, { version: number; text: Uint8Array }>();
  private registrySeen = 0;

  constructor(
    openTable: SharedArrayBuffer, registrations: Registration[], private readonly poolSlots: Int32Array,
    private readonly port: MessagePort, private readonly runTimeoutMs: number,
  ) {
    this.table = new OpenTable(openTable);
    for (const registration of registrations) this.register(registration);
  }

  /** Registrations made or dropped since this reader last looked (sent before the OPEN reply that named them). */
  catchUp(): void {
    if (Atomics.load(this.poolSlots, pool.registry) === this.registrySeen) return;
    this.registrySeen = Atomics.load(this.poolSlots, pool.registry);
    for (let message = receiveMessageOnPort(this.port); message; message = receiveMessageOnPort(this.port)) this.register(message.message as Registration);
  }

  /**
   * Serves `request` if it is on a slot's file: returns the
   * reply payload's length, written to `payload`; undefined to pass the
   * request to the main thread. A failure (KVM's errno, EBUSY for a second
   * reader of `run`) is thrown, for the main thread to record and answer.
   */
  serve(request: IoRequest, payload: Uint8Array, aroundRun: AroundRun): number | undefined {
    const { io } = request;
    if (io.fh < SLOT_HANDLE_BASE) return undefined;
    const slot = io.fh - SLOT_HANDLE_BASE;
    const kind = this.table.kind(slot);
    const key = this.table.key(slot);
    if (kind === 'memory') {
      const memory = this.attached(this.memories, key);
      if (!memory) return undefined;
      if (request.opcode === opcode.READ) return memory.read(io.offset, payload.subarray(0, io.size));
      // past the end: the main thread fails it with ENOSPC and says why
      if (!memory.write(io.offset, request.data.subarray(0, io.size))) return undefined;
      const out = writeOut(io.size);
      payload.set(out);
      return out.length;
    }
    if (request.opcode !== opcode.READ || (kind !== 'run' && kind !== 'regs')) return undefined;
    const vcpu = this.attached(this.vcpus, key);
    if (!vcpu) return undefined;
    const render = kind === 'run'
      ? () => aroundRun(() => {
        this.table.setRun(slot, request.unique); // so that an interrupt (Ctrl-C) finds it and stops the vcpu
        try {
          return Buffer.from(renderExit(vcpu.run(this.runTimeoutMs)));
        } finally {
          this.table.setRun(slot, undefined);
        }
      })
      : () => this.regsText(key, vcpu);
    return this.readSnapshot(slot, io, payload, render);
  }

  private register({ key, shared }: Registration): void {
    if (!shared) {
      this.memories.delete(key);
      this.vcpus.delete(key);
      this.renderedRegs.delete(key);
    } else if (shared.kind === 'memory') {
      this.memories.set(key, new GuestMemoryView(shared.memory));
    } else if (!this.vcpus.has(key)) {
      this.vcpus.set(key, new SharedVcpu(shared.vcpu));
    }
  }

  /** The object of `key`, registered perhaps only just now. */
  private attached<T>(objects: Map<number, T>, key: number): T | undefined {
    if (!objects.has(key)) this.catchUp();
    return objects.get(key);
  }

  /** A read at offset 0 renders a fresh snapshot; reads past 0 continue it. */
  private readSnapshot(slot: number, io: IoIn, payload: Uint8Array, render: () => Uint8Array): number {
    const target = payload.subarray(0, io.size);
    if (io.offset !== 0) return this.table.readSnapshot(slot, io.offset, target);
    const content = render();
    this.table.storeSnapshot(slot, content);
    const length = Math.min(content.length, io.size);
    target.set(content.subarray(0, length));
    return length;
  }

  /**
   * KVM_GET_REGS, rendered; rendered once per state version: the registers
   * of an idle vcpu change only when it runs or they are written.
   */
  private regsText(key: number, vcpu: SharedVcpu): Uint8Array {
    const version = vcpu.stateVersion;
    const rendered = this.renderedRegs.get(key);
    if (rendered && rendered.version === version) return rendered.text;
    const text = Buffer.from(renderRegs(vcpu.getRegs()));
    if (version !== undefined) this.renderedRegs.set(key, { version, text });
    return text;
  }
}
