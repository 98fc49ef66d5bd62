// `kvmfs gdb`: a GDB remote serial protocol server for one vcpu of a VM in
// the mount, on a TCP port. One gdb at a time; after a detach the next may
// connect; a kill destroys the VM and ends the server.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { rmdir } from 'node:fs/promises';
import { frame, PacketReader } from './packets.js';
import { GdbStub } from './stub.js';
import { mountAccess, type VcpuAccess } from './vcpu-files.js';

export interface GdbOptions { vmDir: string; port: number; vcpu: number; host: string }

/** Serves gdb connections on `port` for the vcpu `access` reaches; resolves once listening. */
export function serveGdb(access: VcpuAccess, options: { port: number; host: string; log: (line: string) => void; destroy: () => Promise<void> }): Promise<Server> {
  const server = createServer((socket) => {
    if (server.connections > 1) {
      options.log('a second gdb was refused: one at a time');
      socket.destroy();
      return;
    }
    options.log(`gdb connected from ${socket.remoteAddress}:${socket.remotePort}`);
    connect(socket, new GdbStub(access, options.log, async () => {
      await options.destroy();
      server.close();
    }));
  });
  server.maxConnections = 2;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}

/** Packets are answered one after another; Ctrl-C goes to the stub at once. */
function connect(socket: Socket, stub: GdbStub): void {
  const reader = new PacketReader(() => socket.write('-'));
  let queue = Promise.resolve();
  socket.on('data', (chunk) => {
    for (const incoming of reader.push(chunk)) {
      if (incoming.kind === 'interrupt') {
        void stub.interrupt();
        continue;
      }
      socket.write('+');
      queue = queue.then(async () => {
        const reply = await stub.handle(incoming.payload);
        if (socket.destroyed) return;
        socket.write(frame(reply.text));
        if (reply.close) socket.end();
      });
    }
  });
  socket.on('error', () => socket.destroy());
  // gdb gone while the guest runs: stop it, so the vcpu is not left running for ever.
  socket.on('close', () => void stub.interrupt());
}

export async function gdb(options: GdbOptions): Promise<void> {
  const log = (line: string) => process.stderr.write(`kvmfs gdb: ${line}\n`);
  const access = mountAccess(options.vmDir, options.vcpu);
  if (!access.has('regs')) throw new Error(`${options.vmDir}/vcpu${options.vcpu}/regs not found: name a VM directory of a kvmfs mount and one of its vcpus`);
  const server = await serveGdb(access, { port: options.port, host: options.host, log, destroy: () => rmdir(options.vmDir) });
  const { port } = server.address() as AddressInfo;
  log(`serving ${options.vmDir}/vcpu${options.vcpu} on ${options.host}:${port} (gdb: target remote :${port})`);
}
