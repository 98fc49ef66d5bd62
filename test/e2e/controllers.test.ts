// The in-kernel irqchip and PIT through the mount: timer interrupts reach a
// guest's handler at the rate it programmed, the chip files show what the
// guest programmed, writes to them change what the guest sees, irq raises
// lines the guest takes, and interrupt is ENXIO. Rates are measured over
// one 1 s run with wide bounds (the machine is shared and noisy).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount } from './harness.js';
import { fails } from './assert-helpers.js';
import {
  apicGuest, apicGuestSregs, IRQ1_AT, realModeVmWith, TICKS_AT, timerGuest, u16At,
} from './guests-controllers.js';

/** Shell: milliseconds since the epoch. */
const NOW_MS = '$(( $(date +%s%N) / 1000000 ))';
const WITH_CHIPS = 'echo kernel > "$V/irqchip"; echo create > "$V/pit"';
const OUT_0X21 = 'io out port=0x00e9 size=1 count=1 data=0x21';

/** `name value` lines of a file's text as a map. */
function valuesOf(text: string): Map<string, string> {
  return new Map(text.trimEnd().split('\n').map((line) => {
    const space = line.indexOf(' ');
    return [line.slice(0, space), line.slice(space + 1)] as [string, string];
  }));
}

/** The `pin<N>`/`ch<N>` line of a file's text. */
function lineOf(text: string, name: string): string {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no ${name} in:\n${text}`);
  return line;
}

describe('interrupt controllers and timers', () => {
  let mount: Mount;

  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  /**
   * Timer ticks per second over one run (1 s: the default run time limit)
   * of `vm`, and that run's exit line. KVM's PIT keeps the ticks that fall
   * while the vcpu is not running and injects them at its next run, as fast
   * as the guest takes them; so a first run takes what piled up before, and
   * the time counted starts when it ends: the second run's ticks are then
   * those of the time from there to its end.
   */
  async function tickRate(vm: string): Promise<{ rate: number; exit: string; ticks: number }> {
    const out = await mount.ok(`
      R="$M/${vm}/vcpu0/run"
      cat "$R" > /dev/null
      t0=${NOW_MS}; c0=${u16At(vm, TICKS_AT)}
      exit=$(cat "$R")
      t1=${NOW_MS}; c1=${u16At(vm, TICKS_AT)}
      echo "$(( (c1 - c0 + 65536) % 65536 )) $((t1 - t0)) $exit"
    `);
    const [ticks, ms, ...exit] = out.trim().split(' ');
    return { rate: (Number(ticks) * 1000) / Number(ms), exit: exit.join(' '), ticks: Number(ticks) };
  }

  describe('without an irqchip', () => {
    it('irqchip and pit read none; the chips, lapic and irq are ENXIO with the reason in last_error', async () => {
      await mount.ok('mkdir "$M/bare" "$M/bare/vcpu0"');
      expect(await mount.ok('cat "$M/bare/irqchip" "$M/bare/pit"')).toBe('none\nnone\n');
      for (const file of ['pic_master', 'pic_slave', 'ioapic']) {
        await fails(mount, `cat "$M/bare/${file}"`, 'No such device or address');
        expect(await mount.ok('cat "$M/bare/last_error"')).toMatch(new RegExp(`^${file}: KVM_GET_IRQCHIP: No such device or address: the VM has no in-kernel irqchip`));
      }
      await fails(mount, 'cat "$M/bare/vcpu0/lapic"', 'No such device or address');
      expect(await mount.ok('cat "$M/bare/last_error"')).toMatch(/^vcpu0\/lapic: the VM has no in-kernel irqchip/);
      await fails(mount, 'echo 1 > "$M/bare/irq"', 'No such device or address');
      expect(await mount.ok('cat "$M/bare/last_error"')).toMatch(/^irq: KVM_IRQ_LINE: No such device or address: the VM has no in-kernel irqchip/);
    });

    it('KVM refuses an irqchip once a vcpu exists: its errno passes through and irqchip stays none', async () => {
      await fails(mount, 'echo kernel > "$M/bare/irqchip"', 'Invalid argument');
      expect(await mount.ok('cat "$M/bare/last_error"')).toBe('irqchip: KVM_CREATE_IRQCHIP: Invalid argument\n');
      expect(await mount.ok('cat "$M/bare/irqchip"')).toBe('none\n');
    });
  });

  describe('PIC and PIT: a real-mode guest\'s 100 Hz timer', () => {
    beforeAll(async () => {
      await realModeVmWith(mount, 'tick', timerGuest, WITH_CHIPS);
      // The guest programs the chips and then halts; hlt waits in the kernel, so the run ends by the time limit.
      expect(await mount.ok('cat "$M/tick/vcpu0/run"')).toBe('intr\n');
    });

    it('irqchip reads kernel; a write of kernel again changes nothing', async () => {
      await mount.ok('echo kernel > "$M/tick/irqchip"');
      expect(await mount.ok('cat "$M/tick/irqchip"')).toBe('kernel\n');
    });

    it('timer interrupts reach the guest\'s handler at the programmed rate, with no hlt exits', async () => {
      const { rate, exit } = await tickRate('tick');
      expect(exit).toBe('intr');
      expect(rate).toBeGreaterThan(30);
      expect(rate).toBeLessThan(300);
    });

    it('pit shows the divisor and mode the guest programmed; pic_master and pic_slave its vector bases and masks', async () => {
      const pit = await mount.ok('cat "$M/tick/pit"');
      expect(pit.trimEnd().split('\n')).toHaveLength(4);
      expect(lineOf(pit, 'ch0')).toMatch(/^ch0 count=0x2e9c mode=2 gate=1 latched_count=0x[0-9a-f]{4} count_latched=\d+ status_latched=\d+ status=0x[0-9a-f]{2} read_state=\d+ write_state=\d+ write_latch=0x[0-9a-f]{2} rw_mode=3 bcd=0 count_load_time=0x[0-9a-f]{16}$/);
      expect(pit).toMatch(/^flags 0x[0-9a-f]{8}$/m);
      const master = valuesOf(await mount.ok('cat "$M/tick/pic_master"'));
      expect([master.get('irq_base'), master.get('imr'), master.get('init4')]).toEqual(['0x20', '0xfc', '0x01']);
      const slave = valuesOf(await mount.ok('cat "$M/tick/pic_slave"'));
      expect([slave.get('irq_base'), slave.get('imr')]).toEqual(['0x28', '0xff']);
      expect([...master.keys()].slice(0, 3)).toEqual(['irr', 'imr', 'isr']);
    });

    it('ioapic: base_address, id, irr, 24 pins (masked: this guest uses the PIC), ioregsel', async () => {
      const ioapic = await mount.ok('cat "$M/tick/ioapic"');
      const lines = ioapic.trimEnd().split('\n');
      expect(lines).toHaveLength(28);
      expect(lines[0]).toBe('base_address 0x00000000fec00000');
      expect(lines[1]).toMatch(/^id 0x[0-9a-f]{8}$/);
      expect(lines[2]).toMatch(/^irr 0x[0-9a-f]{8}$/);
      lines.slice(3, 27).forEach((line, pin) => expect(line).toMatch(new RegExp(
        `^pin${pin} vector=0x[0-9a-f]{2} delivery_mode=\\d dest_mode=[01] mask=1 trig_mode=[01] remote_irr=[01] dest_id=0x[0-9a-f]{2} delivery_status=[01] polarity=[01]$`)));
      expect(lines[27]).toMatch(/^ioregsel 0x[0-9a-f]{8}$/);
    });

    it('a pic_master write that masks IRQ0 stops the guest\'s ticks; unmasking brings them back', async () => {
      await mount.ok('echo "imr 0xff" > "$M/tick/pic_master"');
      expect(valuesOf(await mount.ok('cat "$M/tick/pic_master"')).get('imr')).toBe('0xff');
      const masked = await tickRate('tick');
      expect(masked.ticks).toBeLessThanOrEqual(1); // at most one already on its way
      await mount.ok('echo "imr 0xfc" > "$M/tick/pic_master"');
      // No upper bound: KVM's PIT re-injects the ticks the mask held back, as fast as the guest takes them.
      expect((await tickRate('tick')).ticks).toBeGreaterThanOrEqual(10);
    });

    it('a pit write changes the timer: one-shot mode 0 stops the ticks, mode 2 brings them back', async () => {
      await mount.ok('echo "ch0 mode=0" > "$M/tick/pit"');
      expect(lineOf(await mount.ok('cat "$M/tick/pit"'), 'ch0')).toMatch(/^ch0 count=0x2e9c mode=0 /);
      const oneShot = await tickRate('tick');
      expect(oneShot.ticks).toBeLessThanOrEqual(1);
      await mount.ok('echo "ch0 mode=2 count=11932" > "$M/tick/pit"');
      expect((await tickRate('tick')).ticks).toBeGreaterThanOrEqual(10);
    });

    it('irq: a pulse on gsi 1, and a level raised then lowered, each run the guest\'s IRQ1 handler once', async () => {
      await mount.ok('echo 1 > "$M/tick/irq"');
      expect(await mount.ok('cat "$M/tick/vcpu0/run"')).toBe(`${OUT_0X21}\n`);
      await mount.ok('echo "1 1" > "$M/tick/irq"');
      expect(await mount.ok('cat "$M/tick/vcpu0/run"')).toBe(`${OUT_0X21}\n`);
      await mount.ok('echo "1 0" > "$M/tick/irq"');
      expect(await mount.ok(`echo ${u16At('tick', IRQ1_AT)}`)).toBe('2\n');
      // the line is low again: no further IRQ1 (the run ends by the time limit)
      expect(await mount.ok('cat "$M/tick/vcpu0/run"')).toBe('intr\n');
      expect(await mount.ok(`echo ${u16At('tick', IRQ1_AT)}`)).toBe('2\n');
    });

    it('interrupt is ENXIO with an in-kernel irqchip, and last_error says to use irq or lapic', async () => {
      await fails(mount, 'echo 32 > "$M/tick/vcpu0/interrupt"', 'No such device or address');
      const reason = await mount.ok('cat "$M/tick/last_error"');
      expect(reason).toMatch(/^vcpu0\/interrupt: KVM_INTERRUPT: No such device or address: /);
      expect(reason).toContain('irq');
      expect(reason).toContain('lapic');
    });

    it('pit: create again is KVM\'s EEXIST; none cannot remove it', async () => {
      const before = await mount.ok('cat "$M/tick/pit"');
      await fails(mount, 'echo create > "$M/tick/pit"', 'File exists');
      expect(await mount.ok('cat "$M/tick/last_error"')).toBe('pit: KVM_CREATE_PIT2: File exists\n');
      await fails(mount, 'echo none > "$M/tick/pit"', 'Invalid argument');
      expect(await mount.ok('cat "$M/tick/last_error"')).toBe('pit: a PIT cannot be removed (KVM has no ioctl for it)\n');
      expect(lineOf(await mount.ok('cat "$M/tick/pit"'), 'ch0')).toBe(lineOf(before, 'ch0'));
    });
  });

  describe('IOAPIC and local APIC: a guest that programs them', () => {
    beforeAll(async () => {
      await realModeVmWith(mount, 'apic', apicGuest, 'echo kernel > "$V/irqchip"', apicGuestSregs);
      expect(await mount.ok('cat "$M/apic/vcpu0/run"')).toBe('intr\n');
    });

    it('lapic: one line per register, padded to its width; svr and lvt_lint0 as the guest wrote them', async () => {
      const text = await mount.ok('cat "$M/apic/vcpu0/lapic"');
      const lapic = valuesOf(text);
      expect([...lapic.keys()]).toEqual([
        'id', 'version', 'tpr', 'apr', 'ppr', 'ldr', 'dfr', 'svr', 'isr', 'tmr', 'irr', 'esr', 'icr',
        'lvt_timer', 'lvt_thermal', 'lvt_perf', 'lvt_lint0', 'lvt_lint1', 'lvt_error', 'timer_initial', 'timer_current', 'timer_divide',
      ]);
      for (const [name, value] of lapic) {
        const digits = ['isr', 'tmr', 'irr'].includes(name) ? 64 : name === 'icr' ? 16 : 8;
        expect(value, name).toMatch(new RegExp(`^0x[0-9a-f]{${digits}}$`));
      }
      expect(lapic.get('svr')).toBe('0x000001ff');
      expect(lapic.get('lvt_lint0')).toBe('0x00010700');
    });

    it('ioapic shows the redirection the guest programmed; irq on its pin runs the guest\'s handler', async () => {
      const pin3 = lineOf(await mount.ok('cat "$M/apic/ioapic"'), 'pin3');
      expect(pin3).toBe('pin3 vector=0x31 delivery_mode=0 dest_mode=0 mask=0 trig_mode=0 remote_irr=0 dest_id=0x00 delivery_status=0 polarity=0');
      await mount.ok('echo 3 > "$M/apic/irq"');
      expect(await mount.ok('cat "$M/apic/vcpu0/run"')).toBe('io out port=0x00e9 size=1 count=1 data=0x31\n');
    });

    it('an ioapic write routes another pin to another vector: the guest\'s handler for it runs', async () => {
      await mount.ok('echo "pin4 vector=0x32 mask=0" > "$M/apic/ioapic"');
      expect(lineOf(await mount.ok('cat "$M/apic/ioapic"'), 'pin4')).toMatch(/^pin4 vector=0x32 delivery_mode=0 dest_mode=0 mask=0 /);
      await mount.ok('echo 4 > "$M/apic/irq"');
      expect(await mount.ok('cat "$M/apic/vcpu0/run"')).toBe('io out port=0x00e9 size=1 count=1 data=0x32\n');
    });

    it('a lapic write reaches the guest: a tpr above the vector holds the interrupt in irr, tpr 0 lets it in', async () => {
      await mount.ok('echo "tpr 0x40" > "$M/apic/vcpu0/lapic"');
      await mount.ok('echo 3 > "$M/apic/irq"');
      expect(await mount.ok('cat "$M/apic/vcpu0/run"')).toBe('intr\n');
      const lapic = valuesOf(await mount.ok('cat "$M/apic/vcpu0/lapic"'));
      expect(lapic.get('tpr')).toBe('0x00000040');
      expect((BigInt(lapic.get('irr')!) >> 0x31n) & 1n).toBe(1n);
      await mount.ok('echo "tpr 0" > "$M/apic/vcpu0/lapic"');
      expect(await mount.ok('cat "$M/apic/vcpu0/run"')).toBe('io out port=0x00e9 size=1 count=1 data=0x31\n');
    });

    it('lapic reads live while the vcpu runs; a write is EBUSY then', async () => {
      // "tpr 0" is what tpr holds: the writes that land before the run starts change nothing
      const out = await mount.ok(`
        L="$M/apic/vcpu0/lapic"
        cat "$M/apic/vcpu0/run" > /dev/null &
        n=0
        while echo "tpr 0" > "$L" 2>/dev/null && [ $n -lt 200 ]; do n=$((n + 1)); sleep 0.005; done
        grep '^svr ' "$L"
        echo 1 > "$M/apic/vcpu0/stop"
        wait
        echo "tries=$n"
      `);
      expect(out).toMatch(/^svr 0x000001ff\ntries=\d+\n$/);
      expect(Number(/tries=(\d+)/.exec(out)![1])).toBeLessThan(200);
      expect(await mount.ok('cat "$M/apic/last_error"')).toBe('vcpu0/lapic: KVM_SET_LAPIC (the vcpu is running: write stop first): Device or resource busy\n');
      expect(valuesOf(await mount.ok('cat "$M/apic/vcpu0/lapic"')).get('tpr')).toBe('0x00000000');
    });

    it('reading a chip file and writing it back changes nothing', async () => {
      for (const file of ['pic_master', 'pic_slave', 'ioapic', 'vcpu0/lapic']) {
        const before = await mount.ok(`cat "$M/apic/${file}"`);
        await mount.ok(`cat "$M/apic/${file}" > /tmp/kvmfs-e2e-chip.$$ && cat /tmp/kvmfs-e2e-chip.$$ > "$M/apic/${file}"; rm -f /tmp/kvmfs-e2e-chip.$$`);
        expect(await mount.ok(`cat "$M/apic/${file}"`), file).toBe(before);
      }
    });
  });

  describe('bad input: a clear errno, nothing changed, the reason in last_error', () => {
    beforeAll(async () => {
      // A VM with both chips and no guest running: nothing in it changes by itself.
      await mount.ok('mkdir "$M/bad" && echo kernel > "$M/bad/irqchip" && echo create > "$M/bad/pit" && mkdir "$M/bad/vcpu0"');
    });

    it.each([
      ['irqchip', 'userspace', 'Invalid argument', 'irqchip: expected "kernel" (or "none"), got "userspace"'],
      ['irqchip', 'none', 'Invalid argument', 'irqchip: an irqchip cannot be removed (KVM has no ioctl for it)'],
      ['irq', '24', 'Invalid argument', 'irq: gsi 24 out of range 0..23 (the lines the irqchip routes)'],
      ['irq', '4 2', 'Invalid argument', 'irq: level must be 0 or 1, got "2"'],
      ['irq', 'four', 'Invalid argument', 'irq: gsi: bad number "four"'],
      ['pic_master', 'imr 0x100', 'Invalid argument', 'pic_master: line 1: imr: value 0x100 out of range for 8 bits'],
      ['pic_master', 'imr 0xff\nirq_bse 8', 'Invalid argument', 'pic_master: line 2: unknown field "irq_bse"'],
      ['pic_slave', 'imr 1\nimr 2', 'Invalid argument', 'pic_slave: line 2: duplicate field imr'],
      ['ioapic', 'pin24 mask=0', 'Invalid argument', 'ioapic: line 1: no pin24: there are 24 (pin0..pin23)'],
      ['ioapic', 'pin2 mask=0\npin3 vector=0x100', 'Invalid argument', 'ioapic: line 2: pin3 vector: value 0x100 out of range for 8 bits'],
      ['ioapic', 'pin1 colour=1', 'Invalid argument', 'ioapic: line 1: pin1: unknown field "colour"'],
      ['pit', 'ch0 mode=0\nch3 mode=0', 'Invalid argument', 'pit: line 2: no ch3: there are 3 (ch0..ch2)'],
      ['pit', 'ch0 count', 'Invalid argument', 'pit: line 1: ch0: expected field=value, got "count"'],
      ['pit', 'destroy', 'Invalid argument', 'pit: line 1: unknown line "destroy"'],
      ['vcpu0/lapic', 'tpr 0x10\neoi 0', 'Invalid argument', 'vcpu0/lapic: line 2: unknown register "eoi"'],
      ['vcpu0/lapic', 'svr 0x100000000', 'Invalid argument', 'vcpu0/lapic: line 1: svr: value 0x100000000 out of range for 32 bits'],
    ])('%s <- %j', async (file, input, errnoText, reason) => {
      const path = `"$M/bad/${file}"`;
      const readable = file !== 'irq';
      const before = readable ? await mount.ok(`cat ${path}`) : '';
      await fails(mount, `env printf '%s' '${input}' > ${path}`, errnoText);
      expect(await mount.ok('cat "$M/bad/last_error"')).toBe(`${reason}\n`);
      if (readable) expect(await mount.ok(`cat ${path}`)).toBe(before);
    });

    it('a write of the PIT state to a VM without a PIT is ENXIO', async () => {
      await mount.ok('mkdir "$M/nopit"');
      await fails(mount, 'echo "ch0 mode=2" > "$M/nopit/pit"', 'No such device or address');
      expect(await mount.ok('cat "$M/nopit/last_error"')).toBe('pit: the VM has no PIT (echo create > pit first)\n');
      expect(await mount.ok('cat "$M/nopit/pit"')).toBe('none\n');
    });

    it('an empty or whitespace-only write is a no-op that succeeds', async () => {
      const files = ['irqchip', 'irq', 'pic_master', 'pic_slave', 'ioapic', 'pit', 'vcpu0/lapic'];
      const before = await mount.ok(files.filter((f) => f !== 'irq').map((f) => `cat "$M/bad/${f}"`).join('; '));
      await mount.ok(files.map((f) => `echo > "$M/bad/${f}"; printf ' \\n\\t' > "$M/bad/${f}"`).join('; '));
      expect(await mount.ok(files.filter((f) => f !== 'irq').map((f) => `cat "$M/bad/${f}"`).join('; '))).toBe(before);
    });
  });
});
