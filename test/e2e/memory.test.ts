// A VM's memory file (guest RAM from GPA 0, sized like a block device: only
// truncate grows it, nothing shrinks or wipes it) and the size of its
// dirty_log, all through dd, cmp, xxd, od, head, tail and truncate.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount } from './harness.js';
import { fails, randomBytes, scratchDir, seededRandom } from './assert-helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** ceil(pages / 64) 64-bit words. */
function dirtyLogSize(memorySize: number): number {
  return Math.ceil(memorySize / 4096 / 64) * 8;
}

describe('memory', () => {
  let mount: Mount;
  let scratch: ReturnType<typeof scratchDir>;
  let T: string;

  /** `length` random bytes (seeded by `seed`) in a scratch file; returns its path. */
  function randomFile(name: string, length: number, seed: number): string {
    const path = join(T, name);
    writeFileSync(path, randomBytes(seededRandom(seed), length));
    return path;
  }

  /** dd `file` into vm's memory at byte `offset`, then cmp it with what memory holds there. */
  async function roundTrip(vm: string, file: string, offset: number, length: number): Promise<void> {
    await mount.ok(`dd if=${file} of="$M/${vm}/memory" bs=64K seek=${offset} oflag=seek_bytes conv=notrunc status=none`);
    await mount.ok(`cmp -n ${length} -i ${offset}:0 "$M/${vm}/memory" ${file}`);
    // and once more through dd reading exactly that range
    await mount.ok(`dd if="$M/${vm}/memory" bs=64K skip=${offset} count=${length} iflag=skip_bytes,count_bytes status=none | cmp - ${file}`);
  }

  async function size(vm: string): Promise<number> {
    return Number(await mount.ok(`stat -c %s "$M/${vm}/memory"`));
  }

  beforeAll(async () => {
    scratch = scratchDir();
    T = scratch.dir;
    mount = await Mount.start();
  });
  afterAll(async () => {
    await mount.stop();
    scratch.remove();
  });

  it('a new VM has no memory and an empty dirty_log', async () => {
    await mount.ok('mkdir "$M/new"');
    expect(await mount.ok('stat -c %s "$M/new/memory" "$M/new/dirty_log"')).toBe('0\n0\n');
    expect(await mount.ok('wc -c < "$M/new/memory"; wc -c < "$M/new/dirty_log"')).toBe('0\n0\n');
    expect(await mount.ok('dd if="$M/new/memory" bs=4096 count=1 2>&1 >/dev/null | tail -1')).toMatch(/^0 bytes copied/);
  });

  it('a write to memory of size 0 is ENOSPC', async () => {
    await fails(mount, 'printf x | dd of="$M/new/memory" conv=notrunc status=none', 'No space left on device');
    expect(await size('new')).toBe(0);
    expect(await mount.ok('cat "$M/new/last_error"')).toMatch(/^memory: .+\n$/);
  });

  it('truncate -s 1M makes 1048576 bytes of zeros, and a 32-byte dirty_log', async () => {
    await mount.ok('mkdir "$M/a" && truncate -s 1M "$M/a/memory"');
    expect(await size('a')).toBe(MiB);
    expect(await mount.ok('wc -c < "$M/a/memory"')).toBe(`${MiB}\n`);
    await mount.ok('cmp -n 1048576 "$M/a/memory" /dev/zero');
    expect(await mount.ok('stat -c %s "$M/a/dirty_log"; wc -c < "$M/a/dirty_log"')).toBe('32\n32\n');
    expect(await mount.ok('ls -l "$M/a/memory" | awk \'{ print $5 }\'')).toBe(`${MiB}\n`);
  });

  it('truncate to a size that is not a multiple of 4 KiB rounds up', async () => {
    await mount.ok('mkdir "$M/odd" && truncate -s 5000 "$M/odd/memory"');
    expect(await size('odd')).toBe(8192);
    await mount.ok('truncate -s 8193 "$M/odd/memory"');
    expect(await size('odd')).toBe(12288);
    await mount.ok('truncate -s 12289 "$M/odd/memory"');
    expect(await size('odd')).toBe(16384);
  });

  it('dirty_log is ceil(pages / 64) * 8 bytes, as stat and as read', async () => {
    await mount.ok('mkdir "$M/dl"');
    for (const bytes of [4 * KiB, 256 * KiB, 260 * KiB, 512 * KiB + 1, MiB, 3 * MiB + 4 * KiB, 8 * MiB]) {
      await mount.ok(`truncate -s ${bytes} "$M/dl/memory"`);
      const expected = dirtyLogSize(Math.ceil(bytes / 4096) * 4096);
      expect(await mount.ok('stat -c %s "$M/dl/dirty_log"; wc -c < "$M/dl/dirty_log"'), `memory ${bytes}`).toBe(`${expected}\n${expected}\n`);
      // a small-buffer reader gets the same bytes
      expect(await mount.ok('dd if="$M/dl/dirty_log" bs=3 status=none | wc -c')).toBe(`${expected}\n`);
    }
    await mount.ok('rmdir "$M/dl"');
  });

  it('truncate to a smaller size leaves the size and the contents unchanged', async () => {
    const file = randomFile('shrink', 8192, 1);
    await mount.ok(`dd if=${file} of="$M/a/memory" bs=8192 seek=1 conv=notrunc status=none`);
    for (const smaller of ['0', '4K', '524288', '1048575']) {
      await mount.ok(`truncate -s ${smaller} "$M/a/memory"`);
      expect(await size('a')).toBe(MiB);
      await mount.ok(`cmp -n 8192 -i 8192:0 "$M/a/memory" ${file}`);
    }
    await mount.ok('truncate -s -4K "$M/a/memory"'); // relative shrink, too
    expect(await size('a')).toBe(MiB);
    await mount.ok(`cmp -n 8192 -i 8192:0 "$M/a/memory" ${file}`);
  });

  it('the O_TRUNC of a shell ">" wipes nothing', async () => {
    const file = randomFile('otrunc', 4096, 2);
    await mount.ok(`dd if=${file} of="$M/a/memory" bs=4096 conv=notrunc status=none`);
    await mount.ok(': > "$M/a/memory"');
    expect(await size('a')).toBe(MiB);
    await mount.ok(`cmp -n 4096 "$M/a/memory" ${file}`);
    // and a redirected echo overwrites only its own bytes at offset 0
    await mount.ok('echo hi > "$M/a/memory"');
    expect(await size('a')).toBe(MiB);
    expect(await mount.ok('head -c 3 "$M/a/memory"')).toBe('hi\n');
    await mount.ok(`cmp -n 4093 -i 3:3 "$M/a/memory" ${file}`);
    // a dd without conv=notrunc (O_TRUNC, then ftruncate to its end) wipes nothing either
    await mount.ok(`printf AB | dd of="$M/a/memory" bs=1 seek=100 status=none`);
    expect(await size('a')).toBe(MiB);
    expect(await mount.ok('dd if="$M/a/memory" bs=2 skip=100 count=1 iflag=skip_bytes status=none')).toBe('AB');
    await mount.ok(`cmp -n 97 -i 3:3 "$M/a/memory" ${file} && cmp -n 3994 -i 102:102 "$M/a/memory" ${file}`);
  });

  it('dd/cmp round trips at 0, across a page boundary (4095), at 0x1000 and in the last bytes', async () => {
    const small = randomFile('small', 64, 3);
    const page = randomFile('page', 4096, 4);
    const big = randomFile('big', 200 * KiB, 5);
    await roundTrip('a', small, 0, 64);
    await roundTrip('a', small, 4095, 64);
    await roundTrip('a', page, 0x1000, 4096);
    await roundTrip('a', page, 4095, 4096);
    await roundTrip('a', big, 0x30001, 200 * KiB);
    await roundTrip('a', small, MiB - 64, 64);
    await roundTrip('a', page, MiB - 4096, 4096);
    expect(await size('a')).toBe(MiB);
  });

  it('the last bytes through tail -c and head -c', async () => {
    await mount.ok('printf "0123456789abcdef" | dd of="$M/a/memory" bs=16 seek=$((1048576 - 16)) oflag=seek_bytes conv=notrunc status=none');
    expect(await mount.ok('tail -c 16 "$M/a/memory"')).toBe('0123456789abcdef');
    expect(await mount.ok('head -c 1048576 "$M/a/memory" | tail -c 4')).toBe('cdef');
    expect(await mount.ok('cat "$M/a/memory" | tail -c 16')).toBe('0123456789abcdef');
  });

  it('reads past the end return EOF; a read straddling the end is short', async () => {
    const past = await mount.ok('dd if="$M/a/memory" bs=4096 skip=256 count=1 2>&1 >/dev/null | tail -1');
    expect(past).toMatch(/^0 bytes copied/);
    expect(await mount.ok('dd if="$M/a/memory" bs=1 skip=1048576 count=10 iflag=skip_bytes status=none | wc -c')).toBe('0\n');
    expect(await mount.ok('dd if="$M/a/memory" bs=1M skip=5 count=1 status=none | wc -c')).toBe('0\n');
    expect(await mount.ok('dd if="$M/a/memory" bs=4096 skip=$((1048576 - 100)) count=1 iflag=skip_bytes status=none | wc -c')).toBe('100\n');
    expect(await mount.ok('dd if="$M/a/memory" bs=4096 skip=$((1048576 - 100)) count=1 iflag=skip_bytes status=none | tail -c 16')).toBe('0123456789abcdef');
    expect(await mount.ok('tail -c +1048570 "$M/a/memory" | wc -c')).toBe('7\n');
    // a plain read(2) loop from a seek past the end
    expect(await mount.ok('{ dd bs=1 skip=2000000 count=0 status=none; cat; } < "$M/a/memory" | wc -c')).toBe('0\n');
  });

  it('a write past the end is ENOSPC and writes nothing, also when it straddles the end', async () => {
    const before = await mount.ok('tail -c 64 "$M/a/memory" | xxd -p');
    await fails(mount, 'printf abc | dd of="$M/a/memory" bs=3 seek=1048576 oflag=seek_bytes conv=notrunc status=none', 'No space left on device');
    await fails(mount, 'printf abcdefgh | dd of="$M/a/memory" bs=8 seek=$((1048576 - 4)) oflag=seek_bytes conv=notrunc status=none', 'No space left on device');
    await fails(mount, 'head -c 8192 /dev/urandom | dd of="$M/a/memory" bs=8192 seek=$((1048576 - 4096)) oflag=seek_bytes conv=notrunc iflag=fullblock status=none', 'No space left on device');
    await fails(mount, 'head -c 100 /dev/zero | dd of="$M/a/memory" bs=100 seek=1G oflag=seek_bytes conv=notrunc status=none', 'No space left on device');
    expect(await size('a')).toBe(MiB);
    expect(await mount.ok('tail -c 64 "$M/a/memory" | xxd -p')).toBe(before);
    expect(await mount.ok('cat "$M/a/last_error"')).toMatch(/^memory: .+\n$/);
  });

  it('a write ending exactly at the end works', async () => {
    await mount.ok('printf XYZ | dd of="$M/a/memory" bs=3 seek=$((1048576 - 3)) oflag=seek_bytes conv=notrunc status=none');
    expect(await mount.ok('tail -c 3 "$M/a/memory"')).toBe('XYZ');
  });

  it('xxd and od read it, xxd -r writes it', async () => {
    await mount.ok('printf "KVMFS\\x00\\x01\\xff" | dd of="$M/a/memory" bs=8 seek=$((0x2000)) oflag=seek_bytes conv=notrunc status=none');
    expect(await mount.ok('xxd -s 0x2000 -l 8 -p "$M/a/memory"')).toBe('4b564d46530001ff\n');
    expect(await mount.ok('xxd -s 0x2000 -l 8 "$M/a/memory"')).toBe('00002000: 4b56 4d46 5300 01ff                      KVMFS...\n');
    expect(await mount.ok('od -A x -t x1 -j 8192 -N 8 "$M/a/memory"')).toBe('002000 4b 56 4d 46 53 00 01 ff\n002008\n');
    expect(await mount.ok('od -A n -t u4 -j 8192 -N 4 "$M/a/memory"')).toMatch(/^\s*1179473483\n$/);
    await mount.ok('echo "3000: deadbeef" | xxd -r - "$M/a/memory"');
    expect(await size('a')).toBe(MiB);
    expect(await mount.ok('xxd -s 0x3000 -l 4 -p "$M/a/memory"')).toBe('deadbeef\n');
    expect(await mount.ok('xxd -s 0x2000 -l 8 -p "$M/a/memory"')).toBe('4b564d46530001ff\n');
  });

  it('growing keeps the contents; a buffer straddling the old end round trips', async () => {
    const head = randomFile('head', 4096, 6);
    await mount.ok(`dd if=${head} of="$M/a/memory" bs=4096 conv=notrunc status=none`);
    await mount.ok('truncate -s 2M "$M/a/memory"');
    expect(await size('a')).toBe(2 * MiB);
    expect(await mount.ok('stat -c %s "$M/a/dirty_log"')).toBe('64\n');
    await mount.ok(`cmp -n 4096 "$M/a/memory" ${head}`);
    expect(await mount.ok('dd if="$M/a/memory" bs=4 skip=$((1048576 - 4)) count=1 iflag=skip_bytes status=none')).toBe('cXYZ'); // written by the tests above
    // the new half reads as zeros
    await mount.ok('cmp -n 1048576 -i 1048576:0 "$M/a/memory" /dev/zero');
    const straddle = randomFile('straddle', 8192, 7);
    await roundTrip('a', straddle, MiB - 4096, 8192);
    await roundTrip('a', straddle, MiB - 1, 8192);
    await mount.ok(`cmp -n 4096 "$M/a/memory" ${head}`);
  });

  it('VMs have separate memories', async () => {
    await mount.ok('mkdir "$M/b" && truncate -s 64K "$M/b/memory"');
    await mount.ok('printf bbbb | dd of="$M/b/memory" conv=notrunc status=none');
    expect(await mount.ok('head -c 4 "$M/b/memory"')).toBe('bbbb');
    expect(await mount.ok('head -c 4 "$M/a/memory" | xxd -p')).not.toBe('62626262\n');
    await mount.ok('cmp -n 65532 -i 4:0 "$M/b/memory" /dev/zero');
  });

  it('64 MiB with seeded random data at seeded random offsets round trips, and nothing else changes', async () => {
    const random = seededRandom(0x6b766d);
    const chunks = Array.from({ length: 8 }, (_, i) => {
      const length = 1 + Math.floor(random() * 256 * KiB);
      const offset = Math.floor(random() * (64 * MiB - length));
      return { file: randomFile(`chunk${i}`, length, 100 + i), offset, length };
    });
    chunks.push({ file: randomFile('last', 4096, 99), offset: 64 * MiB - 4096, length: 4096 });
    const writes = chunks.map(({ file, offset }) => `dd if=${file} of="$DST" bs=64K seek=${offset} oflag=seek_bytes conv=notrunc status=none`).join('\n');
    // the expected image: a sparse scratch file given the same writes
    await mount.ok(`truncate -s 64M ${T}/image && DST=${T}/image && ${writes.replace(/\n/g, ' && ')}`);
    await mount.ok('mkdir "$M/big" && truncate -s 64M "$M/big/memory"');
    expect(await size('big')).toBe(64 * MiB);
    await mount.ok(`DST="$M/big/memory"\n${writes}`);
    for (const { file, offset, length } of chunks) await mount.ok(`cmp -n ${length} -i ${offset}:0 "$M/big/memory" ${file}`);
    await mount.ok(`cmp "$M/big/memory" ${T}/image`);
    expect(await mount.ok(`sha256sum < "$M/big/memory"`)).toBe(await mount.ok(`sha256sum < ${T}/image`));
  });

  it('rmdir of a VM with memory, and its name reused, gives size 0', async () => {
    await mount.ok('rmdir "$M/big" && mkdir "$M/big"');
    expect(await size('big')).toBe(0);
  });
});

describe('memory under --max-memory 4M', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(['--max-memory', '4M']); });
  afterAll(async () => { await mount.stop(); });

  it('growing one VM beyond the limit is ENOSPC and leaves its size', async () => {
    await mount.ok('mkdir "$M/a" && truncate -s 1M "$M/a/memory"');
    await fails(mount, 'truncate -s 5M "$M/a/memory"', 'No space left on device');
    await fails(mount, 'truncate -s $((4 * 1048576 + 1)) "$M/a/memory"', 'No space left on device');
    expect(await mount.ok('stat -c %s "$M/a/memory"')).toBe(`${MiB}\n`);
    expect(await mount.ok('cat "$M/a/last_error"')).toMatch(/^memory: .*max-memory.*\n$/);
    await mount.ok('truncate -s 4M "$M/a/memory"');
    expect(await mount.ok('stat -c %s "$M/a/memory"')).toBe(`${4 * MiB}\n`);
  });

  it('the limit is for all VMs together, and freed by rmdir', async () => {
    await mount.ok('mkdir "$M/b"');
    await fails(mount, 'truncate -s 4K "$M/b/memory"', 'No space left on device');
    expect(await mount.ok('stat -c %s "$M/b/memory"')).toBe('0\n');
    await mount.ok('rmdir "$M/a"');
    await mount.ok('truncate -s 3M "$M/b/memory" && mkdir "$M/c" && truncate -s 1M "$M/c/memory"');
    await fails(mount, 'truncate -s 1028K "$M/c/memory"', 'No space left on device');
    expect(await mount.ok('stat -c %s "$M/b/memory" "$M/c/memory"')).toBe(`${3 * MiB}\n${MiB}\n`);
  });
});

describe('memory under a --max-memory that is not a whole number of pages', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(['--max-memory', '6000']); });
  afterAll(async () => { await mount.stop(); });

  it('a truncate that rounds up past the limit is ENOSPC', async () => {
    await mount.ok('mkdir "$M/a"');
    // 4097 bytes is under 6000, but it would be 8192 bytes of RAM
    await fails(mount, 'truncate -s 4097 "$M/a/memory"', 'No space left on device');
    expect(await mount.ok('stat -c %s "$M/a/memory"')).toBe('0\n');
    await mount.ok('truncate -s 4000 "$M/a/memory"');
    expect(await mount.ok('stat -c %s "$M/a/memory"')).toBe('4096\n');
  });
});
