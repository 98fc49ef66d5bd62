// Parallel vcpus end to end: several `cat run` loops in background shells
// at once, on two vcpus of one VM and on vcpus of two VMs, while another
// shell reads regs and memory over and over. Every exit is accounted for:
// each vcpu's guest counts in ax, so its exit lines must be exactly
// 1, 2, 3, ... with nothing lost, repeated or mixed up between vcpus.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount } from './harness.js';
import * as guests from './guests.js';
import { printfBytes } from './guests.js';

const RUNS = 200;

/** The exit lines the counter guest makes on `port`: out of ax = 1..n. */
function expectedCounts(port: number, n: number): string[] {
  const portText = port.toString(16).padStart(4, '0');
  return Array.from({ length: n }, (_, i) => `io out port=0x${portText} size=2 count=1 data=0x${(i + 1).toString(16).padStart(4, '0')}`);
}

/**
 * Shell: a VM `vm` with the counter guest and the given vcpus, each at
 * rip 0x1000 in real mode with its own counter address (bx) and port (dx).
 */
function counterVm(vm: string, vcpus: Array<{ id: number; bx: number; dx: number }>): string {
  return `
    mkdir "$M/${vm}" && truncate -s 1M "$M/${vm}/memory"
    printf '${printfBytes(guests.counter)}' | dd of="$M/${vm}/memory" bs=4096 seek=1 conv=notrunc status=none
    ${vcpus.map(({ id, bx, dx }) => `
    mkdir "$M/${vm}/vcpu${id}"
    echo 'cs base=0 selector=0' > "$M/${vm}/vcpu${id}/sregs"
    cat > "$M/${vm}/vcpu${id}/regs" <<'REGS'
rip 0x1000
rax 0
rbx ${bx}
rdx ${dx}
REGS`).join('\n')}
  `;
}

/** Shell: runs `$M/<path>/run` RUNS times, every output line (or ERR) to $T/<name>. */
const runLoop = (path: string, name: string) =>
  `( for i in $(seq 1 ${RUNS}); do cat "$M/${path}/run" 2>> "$T/errors" || echo "ERR $i"; done > "$T/${name}" ) & pids="$pids $!"`;

/**
 * Shell: while any of the background loops runs, reads the given regs
 * files and a memory word per loop, counting reads and failures; the
 * memory values go to $T/mem.<n> in order.
 */
function inspector(regs: string[], words: Array<[vm: string, gpa: number]>): string {
  return `
    reads=0; failures=0
    alive() { for p in $pids; do kill -0 $p 2>/dev/null && return 0; done; return 1; }
    while alive; do
      ${regs.map((path) => `cat "$M/${path}/regs" > "$T/regs" 2>> "$T/errors" && grep -q '^rip 0x0000000000001' "$T/regs" || failures=$((failures + 1))`).join('\n      ')}
      ${words.map(([vm, gpa], n) => `od -An -tu2 -j ${gpa} -N 2 "$M/${vm}/memory" >> "$T/mem.${n}" 2>> "$T/errors" || failures=$((failures + 1))`).join('\n      ')}
      reads=$((reads + 1))
    done
    wait
    echo "reads=$reads failures=$failures"
  `;
}

describe('parallel vcpus', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  async function check(T: string, name: string, port: number): Promise<void> {
    const lines = (await mount.ok(`cat "${T}/${name}"`)).trimEnd().split('\n');
    expect(lines).toEqual(expectedCounts(port, RUNS));
  }

  it('two vcpus of one VM run exit loops at once while a third shell reads regs and memory', async () => {
    await mount.ok(counterVm('pair', [{ id: 0, bx: 0x2000, dx: 0xe9 }, { id: 1, bx: 0x2010, dx: 0xea }]));
    const T = (await mount.ok('mktemp -d')).trim();
    const out = await mount.ok(`
      T=${T}; : > "$T/errors"; pids=""
      ${runLoop('pair/vcpu0', 'vcpu0')}
      ${runLoop('pair/vcpu1', 'vcpu1')}
      ${inspector(['pair/vcpu0', 'pair/vcpu1'], [['pair', 0x2000], ['pair', 0x2010]])}
      echo "errors=$(wc -c < "$T/errors")"
      echo "final0=$(od -An -tu2 -j $((0x2000)) -N 2 "$M/pair/memory" | tr -d ' ') final1=$(od -An -tu2 -j $((0x2010)) -N 2 "$M/pair/memory" | tr -d ' ')"
    `, { timeoutMs: 25_000 });
    try {
      const f = Object.fromEntries(out.trim().split(/\s+/).map((w) => w.split('=') as [string, string]));
      expect(f).toMatchObject({ failures: '0', errors: '0', final0: String(RUNS), final1: String(RUNS) });
      expect(Number(f.reads)).toBeGreaterThan(0);
      await check(T, 'vcpu0', 0xe9);
      await check(T, 'vcpu1', 0xea);
      // what the inspector saw of each counter only ever went up
      for (const n of [0, 1]) {
        const seen = (await mount.ok(`cat "${T}/mem.${n}"`)).trim().split(/\s+/).map(Number);
        expect(seen.length).toBe(Number(f.reads));
        for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
        expect(seen.at(-1)).toBeLessThanOrEqual(RUNS);
      }
    } finally {
      await mount.ok(`rm -r "${T}"`);
    }
  });

  it('vcpus of two different VMs run at once', async () => {
    await mount.ok(counterVm('left', [{ id: 0, bx: 0x3000, dx: 0x80 }]));
    await mount.ok(counterVm('right', [{ id: 0, bx: 0x3000, dx: 0x81 }]));
    const T = (await mount.ok('mktemp -d')).trim();
    const out = await mount.ok(`
      T=${T}; : > "$T/errors"; pids=""
      ${runLoop('left/vcpu0', 'left')}
      ${runLoop('right/vcpu0', 'right')}
      ${inspector(['left/vcpu0', 'right/vcpu0'], [['left', 0x3000], ['right', 0x3000]])}
      echo "errors=$(wc -c < "$T/errors")"
    `, { timeoutMs: 25_000 });
    try {
      expect(out).toMatch(/failures=0/);
      expect(out).toMatch(/errors=0/);
      await check(T, 'left', 0x80);
      await check(T, 'right', 0x81);
      expect(await mount.ok('od -An -tu2 -j $((0x3000)) -N 2 "$M/left/memory"; od -An -tu2 -j $((0x3000)) -N 2 "$M/right/memory"'))
        .toBe(`   ${RUNS}\n   ${RUNS}\n`);
    } finally {
      await mount.ok(`rm -r "${T}"`);
    }
  });

  it('two spinning vcpus hit the run time limit together, not one after the other', async () => {
    // the default --run-timeout is 1000 ms: in series the two reads take 2 s
    await mount.ok(`
      mkdir "$M/spin2" && truncate -s 64K "$M/spin2/memory"
      printf '${printfBytes(guests.spin)}' | dd of="$M/spin2/memory" bs=4096 seek=1 conv=notrunc status=none
      for v in vcpu0 vcpu1; do
        mkdir "$M/spin2/$v"
        echo 'cs base=0 selector=0' > "$M/spin2/$v/sregs"
        echo 'rip 0x1000' > "$M/spin2/$v/regs"
      done
    `);
    const out = await mount.ok(`
      T=$(mktemp -d)
      t0=$(date +%s%N)
      cat "$M/spin2/vcpu0/run" > "$T/0" &
      cat "$M/spin2/vcpu1/run" > "$T/1" &
      wait
      t1=$(date +%s%N)
      echo "ms=$(( (t1 - t0) / 1000000 )) run0=$(cat "$T/0") run1=$(cat "$T/1")"
      rm -r "$T"
    `);
    const f = Object.fromEntries(out.trim().split(/\s+/).map((w) => w.split('=') as [string, string]));
    expect(f).toMatchObject({ run0: 'intr', run1: 'intr' });
    expect(Number(f.ms)).toBeGreaterThanOrEqual(950);
    expect(Number(f.ms)).toBeLessThan(1700);
  });

  it('two spinning vcpus of one VM, inspected while they run, both released by one memory write', async () => {
    await mount.ok(`
      mkdir "$M/both" && truncate -s 1M "$M/both/memory"
      printf '${printfBytes(guests.watch)}' | dd of="$M/both/memory" bs=4096 seek=1 conv=notrunc status=none
      for v in vcpu0 vcpu1; do
        mkdir "$M/both/$v"
        echo 'cs base=0 selector=0' > "$M/both/$v/sregs"
        echo 'rip 0x1000' > "$M/both/$v/regs"
      done
    `);
    const out = await mount.ok(`
      T=$(mktemp -d)
      # each reader runs its vcpu until an exit other than the time limit's intr
      for v in vcpu0 vcpu1; do
        ( intrs=0
          while line=$(cat "$M/both/$v/run"); [ "$line" = intr ]; do intrs=$((intrs + 1)); done
          echo "$line" > "$T/$v" ) &
      done
      sleep 0.3
      failures=0
      c0=$(od -An -tu4 -j $((0x2000)) -N 4 "$M/both/memory")
      for i in $(seq 1 10); do
        for v in vcpu0 vcpu1; do
          grep -q '^rip 0x000000000000100[0-9a-b]$' "$M/both/$v/regs" || failures=$((failures + 1))
          grep -q '^cs base=0x0000000000000000 ' "$M/both/$v/sregs" || failures=$((failures + 1))
        done
      done
      c1=$(od -An -tu4 -j $((0x2000)) -N 4 "$M/both/memory")
      printf '\\x2a' | dd of="$M/both/memory" bs=1 seek=$((0x2100)) conv=notrunc status=none
      wait
      echo "failures=$failures counting=$([ $((c1)) -gt $((c0)) ] && echo yes || echo no)"
      echo "vcpu0=$(tr ' ' _ < "$T/vcpu0") vcpu1=$(tr ' ' _ < "$T/vcpu1")"
      rm -r "$T"
    `, { timeoutMs: 15_000 });
    const f = Object.fromEntries(out.trim().split(/\s+/).map((w) => w.split('=') as [string, string]));
    expect(f).toMatchObject({ failures: '0', counting: 'yes' });
    // split('=') cut the exit lines at each '=': compare the whole words instead
    expect(out).toMatch(/^vcpu0=io_out_port=0x00e9_size=1_count=1_data=0x2a vcpu1=io_out_port=0x00e9_size=1_count=1_data=0x2a$/m);
  });
});
