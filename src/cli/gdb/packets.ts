// GDB remote serial protocol framing: `$payload#xx` packets with a modulo-256
// checksum, `+`/`-` acknowledgements, and the 0x03 byte gdb sends for
// Ctrl-C. Payloads escape `#`, `$`, `}` and `*` as `}` + (byte ^ 0x20).

export type Incoming = { kind: 'packet'; payload: string } | { kind: 'interrupt' };

const INTERRUPT = 0x03;

export function checksum(payload: string): string {
  let sum = 0;
  for (const byte of Buffer.from(payload, 'latin1')) sum = (sum + byte) & 0xff;
  return sum.toString(16).padStart(2, '0');
}

/** A packet on the wire, payload escaped. */
export function frame(payload: string): string {
  const escaped = payload.replace(/[#$}*]/g, (c) => `}${String.fromCharCode(c.charCodeAt(0) ^ 0x20)}`);
  return `$${escaped}#${checksum(escaped)}`;
}

/**
 * Splits the byte stream from gdb into packets and interrupts. A packet
 * with a bad checksum is dropped (`bad` is called: answer `-` and gdb sends
 * it again); acknowledgements are skipped.
 */
export class PacketReader {
  private buffer = '';

  constructor(private readonly bad: () => void = () => {}) {}

  push(chunk: Buffer): Incoming[] {
    this.buffer += chunk.toString('latin1');
    const found: Incoming[] = [];
    for (;;) {
      const start = this.nextStart(found);
      if (start < 0) return found;
      const end = this.buffer.indexOf('#', start);
      if (end < 0 || end + 3 > this.buffer.length) {
        this.buffer = this.buffer.slice(start);
        return found;
      }
      const raw = this.buffer.slice(start + 1, end);
      const sum = this.buffer.slice(end + 1, end + 3);
      this.buffer = this.buffer.slice(end + 3);
      if (sum.toLowerCase() !== checksum(raw)) this.bad();
      else found.push({ kind: 'packet', payload: raw.replace(/\}(.)/gs, (_, c: string) => String.fromCharCode(c.charCodeAt(0) ^ 0x20)) });
    }
  }

  /** Index of the next `$`, taking the interrupts and dropping the acks before it; -1 if none yet. */
  private nextStart(found: Incoming[]): number {
    let i = 0;
    for (; i < this.buffer.length && this.buffer[i] !== '$'; i++) {
      if (this.buffer.charCodeAt(i) === INTERRUPT) found.push({ kind: 'interrupt' });
    }
    this.buffer = this.buffer.slice(i);
    return this.buffer.length > 0 ? 0 : -1;
  }
}

/** Hex of bytes, as memory and register packets carry them. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function fromHex(text: string): Buffer {
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new Error(`bad hex ${JSON.stringify(text.slice(0, 20))}`);
  return Buffer.from(text, 'hex');
}
