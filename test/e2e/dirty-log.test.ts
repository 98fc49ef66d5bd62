// dirty_log end to end: exactly the pages a guest wrote, decoded with od,
// and cleared by each read at offset 0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, realModeVm } from './harness.js';
import * as guests from './guests.js';

/** The dirty_log as 64-bit words (od -tx8 reads them little-endian, as KVM writes them). */
async function dirtyWords(mount: Mount, vm: string): Promise<bigint[]> {
  const text = await mount.ok(`od -An -v -tx8 "$M/${vm}/dirty_log"`);
  return text.trim().split(/\s+/).map((word) => BigInt(`0x${word}`));
}

/** Page numbers set in a bitmap of 64-bit words. */
function pages(words: bigint[]): number[] {
  const set: number[] = [];
  words.forEach((word, w) => {
    for (let bit = 0; bit < 64; bit++) if ((word >> BigInt(bit)) & 1n) set.push(w * 64 + bit);
  });
  return set;
}

describe('dirty_log', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  it('shows exactly the three pages the guest wrote, then nothing', async () => {
    // 1 MiB: 256 pages, 4 words, 32 bytes
    await realModeVm(mount, 'd', guests.dirty3);
    expect(await mount.ok('stat -c %s "$M/d/dirty_log"')).toBe('32\n');
    await mount.ok('cat "$M/d/dirty_log" > /dev/null'); // clear whatever loading did
    expect(await mount.ok('cat "$M/d/vcpu0/run"')).toBe('hlt\n');
    const words = await dirtyWords(mount, 'd');
    expect(words).toHaveLength(4);
    // pages 0x5, 0xc and 0x45: bits 5 and 12 of word 0, bit 5 of word 1
    expect(words).toEqual([0x1020n, 0x20n, 0n, 0n]);
    expect(pages(words)).toEqual([0x5, 0xc, 0x45]);
    // the read cleared it
    expect(await dirtyWords(mount, 'd')).toEqual([0n, 0n, 0n, 0n]);
    // and the guest wrote what it meant to
    expect(await mount.ok(`
      od -An -tx1 -j $((0x5000)) -N 1 "$M/d/memory"
      od -An -tx1 -j $((0xcffe)) -N 2 "$M/d/memory"
      od -An -tx1 -j $((0x45ff0)) -N 4 "$M/d/memory"
    `)).toBe(' 01\n 02 00\n 03 00 00 00\n');
  });

  it('a guest that writes no memory leaves the log empty', async () => {
    await realModeVm(mount, 'clean', guests.hello16);
    await mount.ok('cat "$M/clean/dirty_log" > /dev/null');
    const out = await mount.ok(`for i in $(seq 1 30); do l=$(cat "$M/clean/vcpu0/run"); [ "$l" = hlt ] && break; done; echo "$l"`);
    expect(out).toBe('hlt\n');
    expect(await dirtyWords(mount, 'clean')).toEqual([0n, 0n, 0n, 0n]);
  });

  it('memory grown in two steps (two KVM slots): one bitmap from GPA 0', async () => {
    // slot 0 covers 0..256K (pages 0..0x3f), slot 1 256K..1M: page 0x45 is in slot 1
    await mount.ok(`
      mkdir "$M/two" && truncate -s 256K "$M/two/memory" && truncate -s 1M "$M/two/memory" && mkdir "$M/two/vcpu0"
      printf '${guests.printfBytes(guests.dirty3)}' | dd of="$M/two/memory" bs=4096 seek=1 conv=notrunc status=none
      echo 'cs base=0 selector=0' > "$M/two/vcpu0/sregs"
      echo 'rip 0x1000' > "$M/two/vcpu0/regs"
    `);
    expect(await mount.ok('stat -c %s "$M/two/memory" "$M/two/dirty_log"')).toBe('1048576\n32\n');
    await mount.ok('cat "$M/two/dirty_log" > /dev/null');
    expect(await mount.ok('cat "$M/two/vcpu0/run"')).toBe('hlt\n');
    expect(await dirtyWords(mount, 'two')).toEqual([0x1020n, 0x20n, 0n, 0n]);
    expect(await dirtyWords(mount, 'two')).toEqual([0n, 0n, 0n, 0n]);
  });

  it('a second run after a clear logs the pages again', async () => {
    await realModeVm(mount, 'again', guests.dirty3);
    await mount.ok('cat "$M/again/dirty_log" > /dev/null; cat "$M/again/vcpu0/run" > /dev/null; cat "$M/again/dirty_log" > /dev/null');
    expect(await dirtyWords(mount, 'again')).toEqual([0n, 0n, 0n, 0n]);
    await mount.ok(`echo 'rip 0x1000' > "$M/again/vcpu0/regs"; echo 'es selector=0 base=0' > "$M/again/vcpu0/sregs"`);
    expect(await mount.ok('cat "$M/again/vcpu0/run"')).toBe('hlt\n');
    expect(pages(await dirtyWords(mount, 'again'))).toEqual([0x5, 0xc, 0x45]);
  });
});
