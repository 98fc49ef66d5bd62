// The packets gdb sends and what the bridge answers, one vcpu, all-stop.
// Every answer comes from the vcpu's files: registers from regs/sregs/fpu,
// memory through translate + memory, stepping and breakpoints through debug,
// continue through run, Ctrl-C through stop.
import { Breakpoints } from './breakpoints.js';
import { fromHex, toHex } from './packets.js';
import { architectureOf, decodeRegister, encodeRegister, layouts, targetXml, type Architecture } from './registers.js';
import { parseLines, readState, VirtualMemory, type VcpuAccess } from './vcpu-files.js';

/** Signals of stop replies (gdb's numbering). */
const SIGINT = 0x02;
const SIGTRAP = 0x05;
const SIGSEGV = 0x0b;
/** Packet errors: EIO-ish for "cannot access memory", EINVAL for the rest. */
const MEMORY_ERROR = 'E14';
const ERROR = 'E16';

/** What a packet asks of the connection besides its reply. */
export type Reply = { text: string; close?: boolean };

export class GdbStub {
  private architecture: Architecture | undefined;
  private readonly breakpoints = new Breakpoints();
  private readonly memory: VirtualMemory;
  private stopWanted = false;
  private running = false;

  constructor(private readonly access: VcpuAccess, private readonly log: (line: string) => void, private readonly destroy: () => Promise<void>) {
    this.memory = new VirtualMemory(access);
  }

  /** Ctrl-C from gdb: stops the run in progress, which then answers with SIGINT. */
  async interrupt(): Promise<void> {
    if (!this.running) return;
    this.stopWanted = true;
    await this.access.write('stop', '1\n');
  }

  async handle(packet: string): Promise<Reply> {
    try {
      return await this.dispatch(packet);
    } catch (error) {
      this.log(`${packet.slice(0, 20)}: ${(error as Error).message}`);
      return { text: packet[0] === 'm' || packet[0] === 'M' ? MEMORY_ERROR : ERROR };
    }
  }

  private async dispatch(packet: string): Promise<Reply> {
    const reply = (text: string): Reply => ({ text });
    if (packet.startsWith('qSupported')) return reply('PacketSize=4000;qXfer:features:read+');
    if (packet.startsWith('qXfer:features:read:target.xml:')) return reply(await this.targetXmlPart(packet));
    if (packet === 'qfThreadInfo') return reply('m1');
    if (packet === 'qsThreadInfo') return reply('l');
    if (packet === 'qC') return reply('QC1');
    if (packet === 'qAttached') return reply('1');
    if (packet.startsWith('qSymbol')) return reply('OK');
    if (packet[0] === 'H' || packet[0] === 'T') return reply('OK');
    if (packet === '?') return reply(`S${hex2(SIGTRAP)}`);
    if (packet === 'g') return reply(await this.readRegisters());
    if (packet[0] === 'G') return reply(await this.writeRegisters(packet.slice(1)));
    if (packet[0] === 'p') return reply(await this.readRegister(parseInt(packet.slice(1), 16)));
    if (packet[0] === 'P') return reply(await this.writeRegister(packet.slice(1)));
    if (packet[0] === 'm') return reply(await this.readMemory(packet.slice(1)));
    if (packet[0] === 'M') return reply(await this.writeMemory(packet.slice(1)));
    if (packet[0] === 'Z' || packet[0] === 'z') return reply(await this.breakpoint(packet));
    if (packet[0] === 'c') return reply(await this.resume(false));
    if (packet[0] === 's') return reply(await this.resume(true));
    if (packet[0] === 'D') {
      await this.clearDebug();
      this.log('detached: breakpoints cleared, the guest stays as it is');
      return { text: 'OK', close: true };
    }
    if (packet === 'k' || packet.startsWith('vKill')) {
      await this.clearDebug();
      await this.destroy();
      this.log('killed: the VM is destroyed');
      return { text: packet === 'k' ? '' : 'OK', close: true };
    }
    return reply(''); // not supported: gdb falls back (X -> M, vCont -> c/s, ...)
  }

  private async targetXmlPart(packet: string): Promise<string> {
    const [offset, length] = packet.slice('qXfer:features:read:target.xml:'.length).split(',').map((n) => parseInt(n, 16));
    this.architecture ??= architectureOf(await readState(this.access));
    const xml = targetXml(this.architecture);
    const part = xml.slice(offset, offset! + length!);
    return `${offset! + length! >= xml.length ? 'l' : 'm'}${part}`;
  }

  private async layout() {
    const state = await readState(this.access);
    this.architecture ??= architectureOf(state);
    return { state, registers: layouts[this.architecture] };
  }

  private async readRegisters(): Promise<string> {
    const { state, registers } = await this.layout();
    return registers.map((register) => encodeRegister(register, state)).join('');
  }

  private async readRegister(regnum: number): Promise<string> {
    const { state, registers } = await this.layout();
    const register = registers[regnum];
    return register ? encodeRegister(register, state) : ERROR;
  }

  private async writeRegister(assignment: string): Promise<string> {
    const [regnum, value] = assignment.split('=');
    const { state, registers } = await this.layout();
    const register = registers[parseInt(regnum!, 16)];
    const decoded = decodeRegister(value ?? '');
    if (!register?.write) return ERROR;
    if (register.value(state) === decoded) return 'OK';
    const { file, text } = register.write(decoded, state);
    await this.access.write(file, text);
    return 'OK';
  }

  /** G: the registers of the regs file that changed, in one write. */
  private async writeRegisters(hex: string): Promise<string> {
    const { state, registers } = await this.layout();
    let offset = 0;
    const lines: string[] = [];
    for (const register of registers) {
      const part = hex.slice(offset, offset + register.bits / 4);
      offset += register.bits / 4;
      if (part.length === 0 || part.includes('x') || !register.write) continue;
      const value = decodeRegister(part);
      const change = register.value(state) === value ? undefined : register.write(value, state);
      if (change?.file === 'regs') lines.push(change.text);
    }
    if (lines.length > 0) await this.access.write('regs', lines.join(''));
    return 'OK';
  }

  private async readMemory(request: string): Promise<string> {
    const [address, length] = request.split(',').map((n) => BigInt(`0x${n}`));
    const bytes = await this.memory.read(address!, Number(length));
    return bytes.length === 0 && length! > 0n ? MEMORY_ERROR : toHex(bytes);
  }

  private async writeMemory(request: string): Promise<string> {
    const [where, data] = request.split(':');
    const [address] = where!.split(',').map((n) => BigInt(`0x${n}`));
    await this.memory.write(address!, fromHex(data ?? ''));
    return 'OK';
  }

  private async breakpoint(packet: string): Promise<string> {
    const [type, address, kind] = packet.slice(1).split(/[,;]/);
    const z = Number(type);
    if (packet[0] === 'z') this.breakpoints.remove(z, BigInt(`0x${address}`), parseInt(kind!, 16));
    else {
      const refused = this.breakpoints.insert(z, BigInt(`0x${address}`), parseInt(kind!, 16));
      if (refused) {
        this.log(refused);
        return ERROR;
      }
    }
    await this.access.write('debug', this.breakpoints.debugText(false));
    return 'OK';
  }

  private async clearDebug(): Promise<void> {
    this.breakpoints.clear();
    await this.access.write('debug', this.breakpoints.debugText(false));
  }

  /**
   * Runs until a stop worth telling gdb: a debug exit (a step, a breakpoint,
   * a watchpoint), a halt, a failure, or Ctrl-C. io and mmio exits are
   * answered with zeros (a run after one delivers them) and logged.
   */
  private async resume(step: boolean): Promise<string> {
    if (step) await this.access.write('debug', this.breakpoints.debugText(true));
    this.running = true;
    this.stopWanted = false;
    try {
      for (;;) {
        const line = (await this.access.read('run')).trim();
        const [kind] = line.split(' ');
        if (kind === 'intr') {
          if (this.stopWanted) return `T${hex2(SIGINT)}thread:1;`;
          continue; // the mount's run time limit: go on
        }
        if (kind === 'io' || kind === 'mmio') {
          this.log(`guest ${line}${line.includes(' in ') || line.includes(' read ') ? ' (answered with zeros)' : ''}`);
          continue;
        }
        if (kind === 'debug') {
          const dr6 = parseLines(line).get('debug')?.fields.get('dr6') ?? 0n;
          return `T${hex2(SIGTRAP)}${this.breakpoints.watchHit(dr6)}thread:1;`;
        }
        this.log(`guest stopped: ${line}`);
        return `T${hex2(kind === 'hlt' ? SIGTRAP : SIGSEGV)}thread:1;`;
      }
    } finally {
      this.running = false;
      if (step) await this.access.write('debug', this.breakpoints.debugText(false));
    }
  }
}

function hex2(value: number): string {
  return value.toString(16).padStart(2, '0');
}
