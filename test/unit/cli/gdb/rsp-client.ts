// A minimal GDB remote protocol client for protocol-level tests: sends a
// packet, acknowledges and returns the reply; sends Ctrl-C.
import { connect, type Socket } from 'node:net';
import { frame, PacketReader } from '../../../../src/cli/gdb/packets.js';

export class RspClient {
  private readonly replies: string[] = [];
  private waiting: (() => void) | undefined;
  /** Every byte the server sent, acks included. */
  raw = '';

  private constructor(private readonly socket: Socket) {
    const reader = new PacketReader();
    socket.on('data', (chunk) => {
      this.raw += chunk.toString('latin1');
      for (const incoming of reader.push(chunk)) {
        if (incoming.kind !== 'packet') continue;
        socket.write('+');
        this.replies.push(incoming.payload);
        this.waiting?.();
      }
    });
  }

  static connect(port: number): Promise<RspClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RspClient(socket)));
      socket.once('error', reject);
    });
  }

  send(payload: string): void {
    this.socket.write(frame(payload));
  }

  async request(payload: string): Promise<string> {
    this.send(payload);
    return this.reply();
  }

  async reply(): Promise<string> {
    while (this.replies.length === 0) await new Promise<void>((resolve) => { this.waiting = resolve; });
    return this.replies.shift()!;
  }

  interrupt(): void {
    this.socket.write(Buffer.from([0x03]));
  }

  /** Resolves when the server closes the connection. */
  closed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readableEnded) resolve();
      else this.socket.once('end', () => resolve());
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
