// The bridge's packets, spoken by a small RSP client, against a fake vcpu
// (fake-vcpu.ts): what each packet reads from and writes to the files.
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { serveGdb } from '../../../../src/cli/gdb/server.js';
import { FakeVcpu, type Mode } from './fake-vcpu.js';
import { RspClient } from './rsp-client.js';

let server: Server | undefined;
let client: RspClient | undefined;
afterEach(() => {
  client?.close();
  server?.close();
});

async function bridge(mode: Mode = 'long', withFpu = false) {
  const fake = new FakeVcpu(mode, withFpu);
  const logs: string[] = [];
  server = await serveGdb(fake, { port: 0, host: '127.0.0.1', log: (line) => logs.push(line), destroy: async () => { fake.destroyed = true; } });
  client = await RspClient.connect((server.address() as { port: number }).port);
  return { fake, logs, client };
}

const le64 = (value: bigint) => Buffer.from(new BigUint64Array([value]).buffer).toString('hex');
const debugWrites = (fake: FakeVcpu) => fake.writes.filter(([file]) => file === 'debug').map(([, text]) => text);

describe('gdb bridge packets', () => {
  it('acknowledges, and answers the queries gdb starts with', async () => {
    const { client } = await bridge();
    expect(await client.request('qSupported:multiprocess+;swbreak+;hwbreak+')).toBe('PacketSize=4000;qXfer:features:read+');
    expect(client.raw.startsWith('+')).toBe(true);
    expect(await client.request('?')).toBe('S05');
    expect(await client.request('qfThreadInfo')).toBe('m1');
    expect(await client.request('qsThreadInfo')).toBe('l');
    expect(await client.request('Hg0')).toBe('OK');
    expect(await client.request('vMustReplyEmpty')).toBe('');
  });

  it('describes amd64 in long mode, i8086 in real mode, in parts', async () => {
    const { client } = await bridge();
    const first = await client.request('qXfer:features:read:target.xml:0,40');
    expect(first).toMatch(/^m<\?xml/);
    expect(first.length).toBe(0x41);
    const whole = await client.request('qXfer:features:read:target.xml:0,4000');
    expect(whole[0]).toBe('l');
    expect(whole).toContain('<architecture>i386:x86-64</architecture>');
    for (const name of ['rax', 'r15', 'rip', 'eflags', 'cs', 'gs', 'st7', 'fop', 'xmm15', 'mxcsr', 'fs_base', 'gs_base', 'cr0', 'cr3', 'efer']) {
      expect(whole).toContain(`<reg name="${name}"`);
    }
    client.close();
    server!.close();
    const real = await bridge('real');
    const xml = await real.client.request('qXfer:features:read:target.xml:0,4000');
    expect(xml).toContain('<architecture>i8086</architecture>');
    expect(xml).toContain('<reg name="eip" bitsize="32" type="code_ptr" regnum="8"/>');
    expect(xml).not.toContain('xmm8');
  });

  it('reads registers from regs and sregs; fpu registers unavailable without an fpu file', async () => {
    const { client, fake } = await bridge();
    fake.regs.rax = 0x1122334455667788n;
    const g = await client.request('g');
    expect(g.slice(0, 16)).toBe('8877665544332211');
    expect(g.slice(16 * 16, 17 * 16)).toBe(le64(0x1000n)); // rip, regnum 16
    expect(g.slice(17 * 16, 17 * 16 + 8)).toBe('02000000'); // eflags
    expect(await client.request('p12')).toBe('08000000'); // cs selector
    expect(await client.request('p18')).toBe('x'.repeat(20)); // st0
    expect(await client.request('p39')).toBe(le64(0x7000n)); // fs_base: 16+1+1+6+16+17 = 57 = 0x39
  });

  it('reads the fpu file where there is one', async () => {
    const { client } = await bridge('long', true);
    expect(await client.request('p18')).toBe('00c06821a2da0fc90040'); // st0 = pi
    expect(await client.request('p28')).toBe(`efbeadde${'0'.repeat(24)}`); // xmm0
  });

  it('writes a register with one line to regs', async () => {
    const { client, fake } = await bridge();
    expect(await client.request(`P0=${le64(0x42n)}`)).toBe('OK');
    expect(fake.regs.rax).toBe(0x42n);
    expect(fake.writes.at(-1)).toEqual(['regs', 'rax 0x42\n']);
    expect(await client.request('P12=10000000')).toBe('E16'); // a selector: not settable alone
  });

  it('reads and writes memory through translate', async () => {
    const { client, fake } = await bridge();
    expect(await client.request('m1000,3')).toBe('48c7c0');
    expect(fake.writes.at(-1)).toEqual(['translate', '0x1000\n']);
    expect(await client.request('mfff,2')).toBe('0048');
    expect(fake.writes.at(-1)).toEqual(['translate', '0x0\n0x1000\n']);
    expect(await client.request('M3000,2:abcd')).toBe('OK');
    expect(fake.memory.readUInt16LE(0x3000)).toBe(0xcdab);
    expect(await client.request('m20000,4')).toBe('E14'); // not mapped
  });

  it('steps one instruction with singlestep on, then off again', async () => {
    const { client, fake } = await bridge();
    expect(await client.request('s')).toBe('T05thread:1;');
    expect(fake.regs.rip).toBe(0x1007n);
    expect(debugWrites(fake).map((text) => text.split('\n')[0])).toEqual(['singlestep 1', 'singlestep 0']);
  });

  it('serves Z0 and Z1 with hardware slots; a fifth is refused and logged', async () => {
    const { client, fake, logs } = await bridge();
    for (const [i, address] of ['1000', '1007', '100a', '1012'].entries()) expect(await client.request(`Z${i % 2},${address},1`)).toBe('OK');
    expect(fake.debug).toContain('hw3 addr=0x1012 type=exec len=1');
    expect(await client.request('Z0,1020,1')).toBe('E16');
    expect(logs.at(-1)).toMatch(/all 4 hardware breakpoint slots are taken/);
    expect(await client.request('z0,1000,1')).toBe('OK');
    expect(fake.debug).toContain('hw0 off');
  });

  it('continues to a breakpoint', async () => {
    const { client, fake } = await bridge();
    expect(await client.request('Z0,1012,1')).toBe('OK');
    expect(await client.request('c')).toBe('T05thread:1;');
    expect(fake.regs.rip).toBe(0x1012n);
    expect(fake.regs.rax).toBe(43n);
  });

  it('reports a watchpoint hit with its address', async () => {
    const { client } = await bridge();
    expect(await client.request('Z2,2000,8')).toBe('OK');
    expect(await client.request('c')).toBe('T05watch:2000;thread:1;');
    expect(await client.request('z2,2000,8')).toBe('OK');
    expect(await client.request('Z4,2000,3')).toBe('E16'); // 3 bytes fit no debug register
  });

  it('stops a spinning guest on Ctrl-C by writing stop', async () => {
    const { client, fake } = await bridge();
    client.send('c');
    await new Promise((resolve) => setTimeout(resolve, 200));
    client.interrupt();
    expect(await client.reply()).toBe('T02thread:1;');
    expect(fake.writes.some(([file]) => file === 'stop')).toBe(true);
  });

  it('detach clears the debug registers and closes', async () => {
    const { client, fake } = await bridge();
    await client.request('Z1,1012,1');
    expect(await client.request('D')).toBe('OK');
    await client.closed();
    expect(fake.debug).toBe('singlestep 0\nsw_breakpoints 0\nhw0 off\nhw1 off\nhw2 off\nhw3 off\n');
    expect(fake.destroyed).toBe(false);
  });

  it('kill destroys the VM', async () => {
    const { client, fake } = await bridge();
    client.send('vKill;1');
    expect(await client.reply()).toBe('OK');
    expect(fake.destroyed).toBe(true);
  });
});
