// The shape of the tree: the top-level files, VM and vcpu directories, their
// modes, and what mkdir/rmdir do with them (what the tree refuses and what
// last_error says about it: tree-errors.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount } from './harness.js';
import { fails, q } from './assert-helpers.js';
import { list, TOP_FILES, VCPU_FILES, VCPU_MODES, VM_FILES, VM_MODES } from './tree-files.js';

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
