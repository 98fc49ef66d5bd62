// The shape of the tree: the top-level files, VM and vcpu directories, their
// modes, what mkdir/rmdir do with them, that plain files can never be
// created or removed, and what last_error says about it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount } from './harness.js';
import { fails, PRINTF, q } from './assert-helpers.js';
import { TOP_FILES, VCPU_FILES, VCPU_MODES, VM_FILES, VM_MODES } from './tree-files.js';

/** `ls -1` (one name per line, sorted in the C locale) of a path under the mount. */
async function list(mount: Mount, path: string): Promise<string[]> {
  const out = await mount.ok(`LC_ALL=C ls -1A "$M"/${path}`);
  return out === '' ? [] : out.trimEnd().split('\n');
}

describe('the top of the mount', () => {
  let mount: Mount;
  beforeAll(async () => { mount = await Mount.start(); });
  afterAll(async () => { await mount.stop(); });

  it('api_version is 12', async () => {
    expect(await mount.ok('cat "$M/api_version"')).toBe('12\n');
  });

  it('capabilities lists irqchip as a name value line', async () => {
    const text = await mount.ok('cat "$M/capabilities"');
    expect(text).toMatch(/^irqchip \d+$/m);
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^[a-z0-9_]+ -?\d+$/);
  });

  it('capabilities: one "name value" line per capability, names unique, ends with a newline', async () => {
    const text = await mount.ok('cat "$M/capabilities"');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(10);
    const names = lines.map((line) => line.split(' ')[0]);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['irqchip', 'user_memory', 'nr_vcpus', 'set_tss_addr']));
    // the same text through another tool, and from a second read (a fresh snapshot each time)
    expect(await mount.ok('awk \'{ print $1 " " $2 }\' "$M/capabilities"')).toBe(text);
    expect(await mount.ok('grep -c "" "$M/capabilities"')).toBe(`${lines.length}\n`);
  });

  it('a small-buffer read sees the same text as cat (one snapshot per open)', async () => {
    const whole = await mount.ok('cat "$M/capabilities"');
    expect(await mount.ok('dd if="$M/capabilities" bs=7 status=none')).toBe(whole);
    expect(await mount.ok('dd if="$M/api_version" bs=1 status=none')).toBe('12\n');
  });

  it('lists exactly the top-level files, plus VMs once created', async () => {
    expect(await list(mount, '')).toEqual(TOP_FILES);
    await mount.ok('mkdir "$M/listed-vm"');
    expect(await list(mount, '')).toEqual([...TOP_FILES, 'listed-vm'].sort());
    await mount.ok('rmdir "$M/listed-vm"');
    expect(await list(mount, '')).toEqual(TOP_FILES);
  });

  it('modes and owners: read-only top files, a 755 root', async () => {
    expect(await mount.ok('stat -c "%a %U %F" "$M"')).toBe('755 root directory\n');
    expect(await mount.ok('cd "$M" && stat -c "%n %a %U" api_version capabilities')).toBe('api_version 444 root\ncapabilities 444 root\n');
    expect(await mount.ok('ls -l "$M/api_version" | cut -c1-10')).toBe('-r--r--r--\n');
  });

  it('the top-level files cannot be written', async () => {
    await fails(mount, 'echo 13 > "$M/api_version"', /Permission denied|Operation not permitted/);
    expect(await mount.ok('cat "$M/api_version"')).toBe('12\n');
  });

  it('mkdir of a top-level file name is EEXIST', async () => {
    await fails(mount, 'mkdir "$M/api_version"', 'File exists');
    await fails(mount, 'mkdir "$M/capabilities"', 'File exists');
    expect(await list(mount, '')).toEqual(TOP_FILES);
  });

  it('rmdir of the mount point and of a file fail', async () => {
    await fails(mount, 'rmdir "$M/api_version"', 'Not a directory');
    await fails(mount, 'rmdir "$M"', /busy|Operation not permitted/);
  });
});

describe('VM and vcpu directories', () => {
  let mount: Mount;
  beforeAll(async () => {
    mount = await Mount.start();
    await mount.ok('mkdir "$M/vm" "$M/vm/vcpu0"');
  });
  afterAll(async () => { await mount.stop(); });

  it('a VM directory lists its files (memory, dirty_log, last_error, controllers, timers, console, stats) and its vcpus', async () => {
    expect(await list(mount, 'vm')).toEqual([...VM_FILES, 'vcpu0']);
  });

  it('a vcpu directory lists its state and control files', async () => {
    expect(await list(mount, 'vm/vcpu0')).toEqual(VCPU_FILES);
  });

  it('modes: 700 directories, 600 memory/regs/sregs/run, 400 dirty_log/last_error, 200 interrupt/stop, and every file as the tree in docs/interface.md gives it', async () => {
    const vm = await mount.ok('cd "$M/vm" && stat -c "%n %a %U %F" . memory dirty_log last_error vcpu0');
    expect(vm).toBe([
      '. 700 root directory',
      'memory 600 root regular empty file',
      'dirty_log 400 root regular empty file',
      'last_error 400 root regular empty file',
      'vcpu0 700 root directory',
      '',
    ].join('\n'));
    const vcpu = await mount.ok('cd "$M/vm/vcpu0" && stat -c "%n %a %U" regs sregs run interrupt stop');
    expect(vcpu).toBe('regs 600 root\nsregs 600 root\nrun 600 root\ninterrupt 200 root\nstop 200 root\n');
    // every file, as ls -l shows it: the modes of docs/interface.md's tree
    const long = (dir: string) => mount.ok(`cd "$M/${dir}" && LC_ALL=C ls -l | awk 'NR > 1 { print $1, $NF }'`);
    const shown = (modes: ReadonlyArray<readonly [string, string]>) => modes.map(([name, mode]) => `${mode} ${name}\n`).join('');
    expect(await long('vm')).toBe(`${shown(VM_MODES)}drwx------ vcpu0\n`);
    expect(await long('vm/vcpu0')).toBe(shown(VCPU_MODES));
  });

  it('directory link counts: 2 + subdirectories', async () => {
    await mount.ok('mkdir "$M/links" "$M/links/vcpu0" "$M/links/vcpu1"');
    expect(await mount.ok('stat -c %h "$M/links" "$M/links/vcpu0"')).toBe('4\n2\n');
    await mount.ok('rmdir "$M/links"');
  });

  it('mkdir accepts odd but legal VM names: spaces, dots, unicode, dashes, tabs, a newline, 255 bytes', async () => {
    const names = ['with space', 'dots.in.the.name', '...', '.hidden', 'ünïcödé-虚拟机-🖥', '-dash', 'tab\there', 'new\nline', 'x'.repeat(255)];
    for (const name of names) await mount.ok(`mkdir -- "$M"/${q(name)}`);
    // each is a working VM: its own files, a vcpu, memory
    for (const name of names) {
      await mount.ok(`cd "$M"/${q(name)} && mkdir vcpu0 && truncate -s 8K memory && test "$(stat -c %s memory)" = 8192 && test -f vcpu0/regs`);
    }
    const listed = await mount.ok('find "$M" -mindepth 1 -maxdepth 1 -type d -printf "%f\\0"');
    expect(listed.split('\0').filter(Boolean).sort()).toEqual([...names, 'vm'].sort());
    for (const name of names) await mount.ok(`rmdir -- "$M"/${q(name)}`);
    expect(await list(mount, '')).toEqual([...TOP_FILES, 'vm']);
  });

  it('mkdir of an existing VM is EEXIST and leaves it alone', async () => {
    await mount.ok('truncate -s 4K "$M/vm/memory" && printf marker | dd of="$M/vm/memory" conv=notrunc status=none');
    await fails(mount, 'mkdir "$M/vm"', 'File exists');
    expect(await list(mount, 'vm')).toEqual([...VM_FILES, 'vcpu0']);
    expect(await mount.ok('head -c 6 "$M/vm/memory"')).toBe('marker');
  });

  it('mkdir of an existing vcpu is EEXIST', async () => {
    await fails(mount, 'mkdir "$M/vm/vcpu0"', 'File exists');
    expect(await list(mount, 'vm')).toEqual([...VM_FILES, 'vcpu0']);
  });

  it('mkdir of a VM file name inside a VM is EEXIST', async () => {
    await fails(mount, 'mkdir "$M/vm/memory"', 'File exists');
    await fails(mount, 'mkdir "$M/vm/last_error"', 'File exists');
  });

  it('mkdir inside a vcpu directory is EPERM', async () => {
    await fails(mount, 'mkdir "$M/vm/vcpu0/sub"', 'Operation not permitted');
    expect(await mount.ok('cat "$M/vm/last_error"')).toMatch(/^vcpu0\/sub: .+\n$/);
    expect(await list(mount, 'vm/vcpu0')).toEqual(VCPU_FILES);
  });

  for (const name of ['foo', 'vcpu01', 'vcpu-1', 'vcpu', 'vcpu0x1', 'vcpu 1', 'VCPU1', 'vcpu1a']) {
    it(`mkdir ${JSON.stringify(name)} inside a VM is EINVAL, and last_error names it`, async () => {
      await fails(mount, `mkdir "$M/vm"/${q(name)}`, 'Invalid argument');
      const error = await mount.ok('cat "$M/vm/last_error"');
      expect(error.split('\n')).toHaveLength(2); // one line
      expect(error.startsWith(`${name}: `)).toBe(true);
      expect(error).toContain(JSON.stringify(name));
      expect(await list(mount, 'vm')).toEqual([...VM_FILES, 'vcpu0']);
    });
  }

  it('mkdir vcpuN with N beyond what KVM takes is EINVAL, and last_error gives KVM\'s limit', async () => {
    await fails(mount, 'mkdir "$M/vm/vcpu9999"', 'Invalid argument');
    // checked against KVM's limit before KVM_CREATE_VCPU, as docs/interface.md says (Names)
    expect(await mount.ok('cat "$M/vm/last_error"'))
      .toMatch(/^vcpu9999: cannot create "vcpu9999": vcpu id 9999 is out of range \(KVM takes 0 to \d+: KVM_CAP_MAX_VCPUS?(_ID)?\)\n$/);
    expect(await list(mount, 'vm')).toEqual([...VM_FILES, 'vcpu0']);
  });

  it('vcpus need not be contiguous: vcpu1 and vcpu3', async () => {
    await mount.ok('mkdir "$M/sparse" "$M/sparse/vcpu3" "$M/sparse/vcpu1"');
    expect(await list(mount, 'sparse')).toEqual([...VM_FILES, 'vcpu1', 'vcpu3']);
    await mount.ok('rmdir "$M/sparse"');
  });

  it('rmdir of a vcpu is EPERM and leaves it in place', async () => {
    await fails(mount, 'rmdir "$M/vm/vcpu0"', 'Operation not permitted');
    expect(await mount.ok('cat "$M/vm/last_error"')).toMatch(/^vcpu0: .+\n$/);
    expect(await list(mount, 'vm/vcpu0')).toEqual(VCPU_FILES);
  });

  it('rmdir of a VM (with vcpus and memory) works and the name is gone', async () => {
    await mount.ok('mkdir "$M/doomed" "$M/doomed/vcpu0" && truncate -s 64K "$M/doomed/memory"');
    await mount.ok('echo "rax 0x1234" > "$M/doomed/vcpu0/regs"');
    await mount.ok('rmdir "$M/doomed"');
    expect(await list(mount, '')).toEqual([...TOP_FILES, 'vm']);
    await fails(mount, 'ls "$M/doomed"', 'No such file or directory');
    await fails(mount, 'cat "$M/doomed/vcpu0/regs"', 'No such file or directory');
  });

  it('a VM made again under the same name is a fresh VM', async () => {
    await mount.ok('mkdir "$M/again" "$M/again/vcpu0" && truncate -s 1M "$M/again/memory"');
    await mount.ok('printf dirty | dd of="$M/again/memory" conv=notrunc status=none; echo "rax 0x77" > "$M/again/vcpu0/regs"');
    await fails(mount, 'mkdir "$M/again/bogus"', 'Invalid argument');
    await mount.ok('rmdir "$M/again" && mkdir "$M/again"');
    expect(await mount.ok('stat -c %s "$M/again/memory" "$M/again/dirty_log"')).toBe('0\n0\n');
    expect(await mount.ok('wc -c < "$M/again/memory"')).toBe('0\n');
    expect(await list(mount, 'again')).toEqual(VM_FILES);
    expect(await mount.ok('cat "$M/again/last_error"')).toBe('');
    await mount.ok('mkdir "$M/again/vcpu0"');
    expect(await mount.ok('grep ^rax "$M/again/vcpu0/regs"')).toBe('rax 0x0000000000000000\n');
    await mount.ok('rmdir "$M/again"');
  });

  it('a new VM has an empty last_error', async () => {
    await mount.ok('mkdir "$M/clean"');
    expect(await mount.ok('cat "$M/clean/last_error"; stat -c %s "$M/clean/last_error"')).toBe('0\n');
    await mount.ok('rmdir "$M/clean"');
  });

  it('errors in one VM do not show in another VM\'s last_error', async () => {
    await mount.ok('mkdir "$M/quiet"');
    await fails(mount, 'mkdir "$M/vm/noisy"', 'Invalid argument');
    expect(await mount.ok('cat "$M/quiet/last_error"')).toBe('');
    await mount.ok('rmdir "$M/quiet"');
  });
});

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
