// What the tree refuses: plain files can never be created, removed or
// renamed, missing paths are ENOENT, and last_error says why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount } from './harness.js';
import { fails, PRINTF, q } from './assert-helpers.js';
import { list, TOP_FILES, VCPU_FILES, VM_FILES } from './tree-files.js';

describe('plain files cannot be created, removed or renamed', () => {
  let mount: Mount;
  beforeAll(async () => {
    mount = await Mount.start();
    await mount.ok('mkdir "$M/vm" "$M/vm/vcpu0"');
  });
  afterAll(async () => { await mount.stop(); });

  const places = [
    { where: 'the top', dir: '' },
    { where: 'a VM', dir: 'vm/' },
    { where: 'a vcpu', dir: 'vm/vcpu0/' },
  ];
  for (const { where, dir } of places) {
    for (const [how, script] of [
      ['touch', 'touch "$F"'],
      ['echo >', 'echo hi > "$F"'],
      ['O_CREAT|O_EXCL', 'set -o noclobber; echo hi > "$F"'],
      ['mknod fifo', 'mknod "$F" p'],
      ['mkfifo', 'mkfifo "$F"'],
      ['ln -s', 'ln -s /etc/passwd "$F"'],
      ['cp', 'cp /etc/hostname "$F"'],
    ] as const) {
      it(`${how} in ${where} is EPERM, and last_error names the new file`, async () => {
        // a name of its own per case, so a stale last_error cannot pass for this one
        const name = `new-${how.replace(/[^a-z]/gi, '')}`;
        await fails(mount, `F="$M/${dir}${name}"; ${script}`, 'Operation not permitted');
        await fails(mount, `ls "$M/${dir}${name}"`, 'No such file or directory');
        const errorFile = dir === '' ? '$M/last_error' : '$M/vm/last_error';
        expect(await mount.ok(`cat "${errorFile}"`)).toBe(`${dir.replace(/^vm\//, '')}${name}: "${name}": files cannot be created, removed or renamed in kvmfs\n`);
      });
    }
  }

  it('a hard link to memory is EPERM', async () => {
    await fails(mount, 'ln "$M/vm/memory" "$M/vm/memory2"', 'Operation not permitted');
    await fails(mount, 'ln "$M/vm/memory" "$M/vm/vcpu0/memory"', 'Operation not permitted');
  });

  it('mv of a file, of a vcpu and of a VM is EPERM, and nothing moves', async () => {
    await fails(mount, 'mv "$M/vm/memory" "$M/vm/ram"', 'Operation not permitted');
    await fails(mount, 'mv "$M/vm/vcpu0/regs" "$M/vm/vcpu0/registers"', 'Operation not permitted');
    await fails(mount, 'mv "$M/vm/vcpu0" "$M/vm/vcpu1"', 'Operation not permitted');
    await fails(mount, 'mv "$M/vm" "$M/renamed"', 'Operation not permitted');
    expect(await list(mount, '')).toEqual([...TOP_FILES, 'vm']);
    expect(await list(mount, 'vm')).toEqual([...VM_FILES, 'vcpu0']);
    expect(await list(mount, 'vm/vcpu0')).toEqual(VCPU_FILES);
  });

  it('rm of any file is EPERM, rm -f too, and the file stays', async () => {
    for (const path of ['api_version', 'capabilities', 'last_error', 'vm/memory', 'vm/dirty_log', 'vm/last_error', 'vm/vcpu0/regs', 'vm/vcpu0/stop']) {
      await fails(mount, `rm "$M/${path}"`, 'Operation not permitted');
      await fails(mount, `rm -f "$M/${path}"`, 'Operation not permitted');
      await mount.ok(`test -f "$M/${path}"`);
    }
    expect(await mount.ok('cat "$M/vm/last_error"')).toBe('vcpu0/stop: "stop": files cannot be created, removed or renamed in kvmfs\n');
  });

  it('rm -r of a VM fails on its files and leaves the VM whole', async () => {
    await fails(mount, 'rm -r "$M/vm"', 'Operation not permitted');
    expect(await list(mount, 'vm')).toEqual([...VM_FILES, 'vcpu0']);
    expect(await list(mount, 'vm/vcpu0')).toEqual(VCPU_FILES);
  });

  it('touch of an existing file is accepted and changes nothing', async () => {
    await mount.ok('touch "$M/vm/memory" "$M/vm/vcpu0/regs"');
    expect(await mount.ok('stat -c %s "$M/vm/memory"')).toBe('0\n');
  });
});

describe('missing paths are ENOENT', () => {
  let mount: Mount;
  beforeAll(async () => {
    mount = await Mount.start();
    await mount.ok('mkdir "$M/vm" "$M/vm/vcpu0"');
  });
  afterAll(async () => { await mount.stop(); });

  for (const path of ['nope', 'nope/memory', 'vm/nope', 'vm/vcpu1', 'vm/vcpu1/regs', 'vm/vcpu0/nope', 'vm/vcpu0/regs/x', 'vm/vcpu0/regs/..', 'VM', 'vm/Memory']) {
    it(`${path}`, async () => {
      const result = await mount.sh(`stat "$M/${path}"`);
      expect(result.code).not.toBe(0);
      // a path through a file is ENOTDIR, as on any filesystem
      expect(result.stderr).toMatch(path.startsWith('vm/vcpu0/regs/') ? /Not a directory/ : /No such file or directory/);
    });
  }

  it('cat and ls of missing paths', async () => {
    await fails(mount, 'cat "$M/nope"', 'No such file or directory');
    await fails(mount, 'ls "$M/vm/vcpu7"', 'No such file or directory');
    await fails(mount, 'cat "$M/vm/vcpu0/nope"', 'No such file or directory');
  });

  it('mkdir under a missing VM is ENOENT', async () => {
    await fails(mount, 'mkdir "$M/nope/vcpu0"', 'No such file or directory');
    expect(await list(mount, '')).toEqual([...TOP_FILES, 'vm']);
  });

  it('rmdir of a missing VM is ENOENT', async () => {
    await fails(mount, 'rmdir "$M/nope"', 'No such file or directory');
  });
});

describe('last_error', () => {
  let mount: Mount;
  beforeAll(async () => {
    mount = await Mount.start();
    await mount.ok('mkdir "$M/vm" "$M/vm/vcpu0"');
  });
  afterAll(async () => { await mount.stop(); });

  it('names the file and the reason in one line', async () => {
    await fails(mount, 'echo "rpi 0x1000" > "$M/vm/vcpu0/regs"', 'Invalid argument');
    expect(await mount.ok('cat "$M/vm/last_error"')).toBe('vcpu0/regs: line 1: unknown register "rpi"\n');
  });

  it('keeps the most recent error, also after successful operations', async () => {
    await fails(mount, 'echo "cs bogus=1" > "$M/vm/vcpu0/sregs"', 'Invalid argument');
    await mount.ok('echo "rip 0x1000" > "$M/vm/vcpu0/regs"; cat "$M/vm/vcpu0/sregs" > /dev/null');
    expect(await mount.ok('cat "$M/vm/last_error"')).toBe('vcpu0/sregs: line 1: cs: unknown field "bogus"\n');
    await fails(mount, `${PRINTF} 'rax 1\\n\\nrbx 2\\nfoo 3\\n' > "$M/vm/vcpu0/regs"`, 'Invalid argument');
    expect(await mount.ok('cat "$M/vm/last_error"')).toBe('vcpu0/regs: line 4: unknown register "foo"\n');
  });

  it('stays one line when the input had newlines, control characters or a long name', async () => {
    await fails(mount, `${PRINTF} 'rax 1\\n${'z'.repeat(300)} 2\\n' > "$M/vm/vcpu0/regs"`, 'Invalid argument');
    const error = await mount.ok('cat "$M/vm/last_error"');
    expect(error.split('\n')).toHaveLength(2);
    expect(error.length).toBeLessThan(200);
    expect(error).toMatch(/^vcpu0\/regs: line 2: unknown register "z+\.\.\."\n$/);
    await mount.ok(`mkdir "$M"/${q('two\nlines')}`);
    await fails(mount, `mkdir "$M"/${q('two\nlines')}/${q('bad\nname')}`, 'Invalid argument');
    const twoLines = await mount.ok(`cat "$M"/${q('two\nlines')}/last_error`);
    expect(twoLines.split('\n')).toHaveLength(2);
    expect(twoLines).toContain('"bad\\nname"');
  });

  it('errors outside any VM go to the top-level last_error', async () => {
    await fails(mount, 'touch "$M/stray"', 'Operation not permitted');
    expect(await mount.ok('cat "$M/last_error"')).toBe('stray: "stray": files cannot be created, removed or renamed in kvmfs\n');
    expect(await mount.ok('cat "$M/vm/last_error"')).not.toContain('stray');
  });

  it('last_error is read-only', async () => {
    await fails(mount, 'echo clear > "$M/vm/last_error"', /Permission denied|Operation not permitted/);
  });
});
