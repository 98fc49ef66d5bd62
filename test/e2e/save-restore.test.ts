// kvmfs save and restore through a real mount: a guest saved mid-program
// and restored as a clone runs on exactly as the original (same exits, then
// the same registers and memory), an increment holds only the pages the
// guest wrote since the save before it, memory holes stay holes, and a
// restore that cannot be done fails clearly, leaving no VM behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, Mount } from './harness.js';
import { fails, q, scratchDir } from './assert-helpers.js';
import { loadVm } from './guests.js';
import { EXITS_PER_STEP, SSE_CR4, stepPage, xorshiftSteps, xorshiftStepsSse } from './guests-save-restore.js';

const KVMFS = `${q(process.execPath)} ${q(cli)}`;
const PAGE = 4096;
/** What save copies, as in docs/save-restore.md; the test's mount may lack some (their branches not merged yet). */
const VM_FILES = ['tss_addr', 'identity_map_addr', 'irqchip', 'console_ports', 'pic_master', 'pic_slave', 'ioapic', 'pit', 'clock'];
const VCPU_FILES = ['cpuid', 'sregs', 'regs', 'fpu', 'xsave', 'xcrs', 'lapic', 'msrs', 'debugregs', 'debug', 'events', 'mp_state'];

/** Shell: `count` exits of vm's vcpu0, one line each (an `intr`, a run past --run-timeout, is not an exit of the guest: run on). */
const runExits = (vm: string, count: number) => `
  n=0
  while [ $n -lt ${count} ]; do
    l=$(cat "$M/${vm}/vcpu0/run"); [ "$l" = intr ] && continue
    echo "$l"; n=$((n + 1))
  done`;

/** Shell: the exits of vm's vcpu0 up to the guest's last (its `io out` to port 0xf4). */
const runToEnd = (vm: string) => `
  n=0
  while :; do
    l=$(cat "$M/${vm}/vcpu0/run"); [ "$l" = intr ] && continue
    echo "$l"; n=$((n + 1))
    case "$l" in "io out port=0x00f4 "*) break;; esac
    [ $n -lt 100 ] || { echo "no end after 100 exits" >&2; exit 3; }
  done`;

/** The manifest's `saved`/`missing` paths and its other fields. */
function manifestFields(text: string): { fields: Map<string, string>; saved: string[]; missing: string[] } {
  const fields = new Map<string, string>();
  const saved: string[] = [];
  const missing: string[] = [];
  for (const line of text.trim().split('\n')) {
    const [name, ...rest] = line.split(' ');
    if (name === 'saved') saved.push(rest.join(' '));
    else if (name === 'missing') missing.push(rest.join(' '));
    else fields.set(name!, rest.join(' '));
  }
  return { fields, saved, missing };
}

/** Pages listed in a memory.ranges text. */
function rangePages(text: string): number[] {
  return text.trim().split('\n').filter((line) => line !== '').flatMap((line) => {
    const [gpa, length] = line.split(' ').map(Number) as [number, number];
    return Array.from({ length: length / PAGE }, (_, i) => gpa / PAGE + i);
  });
}

describe('kvmfs save and restore', () => {
  let mount: Mount;
  let scratch: ReturnType<typeof scratchDir>;
  /** The contract's state files this mount does not serve (empty once vcpu-state, controllers, console and debug are merged). */
  let unserved: string[];
  /** `--partial` while some are unserved: save says which, and saves the rest. */
  let partial: string;

  beforeAll(async () => {
    mount = await Mount.start();
    scratch = scratchDir();
    await loadVm(mount, 'probe', xorshiftSteps, 'long');
    const listing = await mount.ok('ls "$M/probe"; ls "$M/probe/vcpu0"');
    unserved = [...VM_FILES, ...VCPU_FILES].filter((file) => !listing.split('\n').includes(file));
    partial = unserved.length > 0 ? '--partial' : '';
    if (partial) console.warn(`save-restore e2e: this mount does not serve ${unserved.join(', ')}: saving with --partial`);
  });
  afterAll(async () => {
    await mount?.stop();
    scratch?.remove();
  });

  it('a save of a mount that lacks state files fails naming them (or, with all merged, succeeds)', async () => {
    const S = q(`${scratch.dir}/strict`);
    if (unserved.length === 0) {
      await mount.ok(`${KVMFS} save "$M/probe" ${S}`);
      return;
    }
    const result = await fails(mount, `${KVMFS} save "$M/probe" ${S}`, 'the mount does not serve ');
    for (const file of unserved) expect(result.stderr).toContain(VCPU_FILES.includes(file) ? `vcpu0/${file}` : file);
    await mount.ok(`test ! -e ${S}`);
  });

  it('a clone restored from a save in the middle of the guest runs on exactly as the original; memory holes stay holes', async () => {
    await loadVm(mount, 'orig', xorshiftSteps, 'long', '16M');
    const S = q(`${scratch.dir}/full`);
    const before = await mount.ok(runExits('orig', 3 * EXITS_PER_STEP));
    expect(before.trim().split('\n')).toHaveLength(6);
    const summary = await mount.ok(`${KVMFS} save ${partial} "$M/orig" ${S}`);
    // the non-zero pages: the code (0x1), the page tables (0x2-0x4), the stores of steps 0-2
    expect(rangePages(await mount.ok(`cat ${S}/memory.ranges`))).toEqual([1, 2, 3, 4, stepPage(0), stepPage(1), stepPage(2)]);
    expect(summary).toContain('7 pages (28672 bytes) saved, 7 written and 0 all zero');
    // 7 pages of data in 16 MiB: the image is 16 MiB long and nearly all hole
    const [size, blocks] = (await mount.ok(`stat -c '%s %b' ${S}/memory`)).trim().split(' ').map(Number) as [number, number];
    expect(size).toBe(16 << 20);
    expect(blocks * 512).toBeLessThan(1 << 20);
    await mount.ok(`${KVMFS} restore ${S} "$M/clone"`);
    // the clone's remaining exits, then its registers and memory, are the original's
    const origRest = await mount.ok(runToEnd('orig'));
    const cloneRest = await mount.ok(runToEnd('clone'));
    expect(cloneRest).toBe(origRest);
    expect(origRest.trim().split('\n')).toHaveLength(5 * EXITS_PER_STEP + 2);
    expect(await mount.ok('cat "$M/clone/vcpu0/regs"')).toBe(await mount.ok('cat "$M/orig/vcpu0/regs"'));
    expect(await mount.ok('cat "$M/clone/vcpu0/sregs"')).toBe(await mount.ok('cat "$M/orig/vcpu0/sregs"'));
    await mount.ok('cmp "$M/orig/memory" "$M/clone/memory"');
  });

  it('an increment holds only the pages the guest wrote since the save before, and a chain restores', async () => {
    await loadVm(mount, 'inc', xorshiftSteps, 'long', '16M');
    const [S0, S1, S2] = ['s0', 's1', 's2'].map((name) => q(`${scratch.dir}/${name}`));
    await mount.ok(`${runExits('inc', 2 * EXITS_PER_STEP)} >/dev/null; ${KVMFS} save ${partial} "$M/inc" ${S0}`);
    await mount.ok(`${runExits('inc', 3 * EXITS_PER_STEP)} >/dev/null`); // steps 2, 3 and 4
    const summary = await mount.ok(`${KVMFS} save ${partial} --since ${S0} "$M/inc" ${S1}`);
    const pages = rangePages(await mount.ok(`cat ${S1}/memory.ranges`));
    const stepPages = [2, 3, 4].map(stepPage);
    // the pages of steps 2-4, and nothing else but possibly pages the guest
    // only used: its page tables (0x2-0x4, where a CPU may set accessed and
    // dirty bits) and its code (0x1, which some KVMs report dirty)
    expect(pages).toEqual(expect.arrayContaining(stepPages));
    expect(pages.filter((page) => !stepPages.includes(page) && !(page >= 1 && page <= 4))).toEqual([]);
    expect(summary).toContain(`${pages.length} pages (${pages.length * PAGE} bytes) saved, ${pages.length} written and 0 all zero`);
    expect(manifestFields(await mount.ok(`cat ${S1}/manifest`)).fields.get('since')).toBe('../s0');
    const [, blocks] = (await mount.ok(`stat -c '%s %b' ${S1}/memory`)).trim().split(' ').map(Number) as [number, number];
    expect(blocks * 512).toBeLessThanOrEqual(pages.length * PAGE + 64 * 1024);
    // nothing written since: nothing copied
    expect(await mount.ok(`${KVMFS} save ${partial} --since ${S1} "$M/inc" ${S2}`)).toContain(' 0 pages (0 bytes) saved');
    // the chain s0 + s1 + s2 restores a clone that runs on as the original
    await mount.ok(`${KVMFS} restore ${S2} "$M/inc-clone"`);
    const origRest = await mount.ok(runToEnd('inc'));
    expect(await mount.ok(runToEnd('inc-clone'))).toBe(origRest);
    expect(await mount.ok('cat "$M/inc-clone/vcpu0/regs"')).toBe(await mount.ok('cat "$M/inc/vcpu0/regs"'));
    await mount.ok('cmp "$M/inc/memory" "$M/inc-clone/memory"');
  });

  it('restore into an existing VM, from a bad directory, or with a file KVM refuses: a clear message, exit 1, no VM left', async () => {
    const S = q(`${scratch.dir}/full`); // the clone test's save, and its clone
    const regs = await mount.ok('cat "$M/clone/vcpu0/regs"');
    await fails(mount, `${KVMFS} restore ${S} "$M/clone"`, /kvmfs restore: .*\/clone already exists: restore makes a new VM/);
    expect(await mount.ok('cat "$M/clone/vcpu0/regs"')).toBe(regs);
    const bad = q(`${scratch.dir}/not-a-save`);
    await fails(mount, `mkdir ${bad}; ${KVMFS} restore ${bad} "$M/x"`, 'not a kvmfs save (no manifest)');
    await fails(mount, `${KVMFS} restore ${q(`${scratch.dir}/nowhere`)} "$M/x"`, 'not a kvmfs save (no manifest)');
    // a save whose sregs KVM cannot take: restore stops there, says why, and removes the VM it made
    const broken = q(`${scratch.dir}/broken`);
    await mount.ok(`cp -r ${S} ${broken} && echo 'cs selector=oops' > ${broken}/vcpu0/sregs`);
    await fails(mount, `${KVMFS} restore ${broken} "$M/x"`, /stopped at writing vcpu0\/sregs: .*\(last_error: vcpu0\/sregs: line 1: .*\); x was removed/);
    await mount.ok('test ! -e "$M/x"');
    // and save: not a VM, or over an existing save
    await fails(mount, `${KVMFS} save "$M" ${q(`${scratch.dir}/s`)}`, 'is not a kvmfs VM directory');
    await fails(mount, `${KVMFS} save ${partial} "$M/clone" ${S}`, 'already exists and is not an empty directory');
  });

  const sseUnserved = () => ['fpu', 'xsave', 'msrs'].filter((file) => unserved.includes(file));
  it('fpu (xmm) and msrs state goes with the clone: without them the guest notices', async (context) => {
    if (sseUnserved().length > 0) {
      console.warn(`save-restore e2e: SKIPPED the fpu/msrs clone test: this mount does not serve ${sseUnserved().join(', ')} (merge vcpu-state)`);
      context.skip();
    }
    await loadVm(mount, 'sse', xorshiftStepsSse, 'long', '16M');
    await mount.ok(`echo ${q(SSE_CR4)} > "$M/sse/vcpu0/sregs"`);
    const S = q(`${scratch.dir}/sse`);
    await mount.ok(`${runExits('sse', 3 * EXITS_PER_STEP)} >/dev/null; ${KVMFS} save ${partial} "$M/sse" ${S}`);
    // a copy of the save without xsave, fpu and msrs: its clone keeps KVM's defaults there
    const lacking = q(`${scratch.dir}/sse-lacking`);
    await mount.ok(`cp -r ${S} ${lacking} && rm ${lacking}/vcpu0/fpu ${lacking}/vcpu0/xsave ${lacking}/vcpu0/msrs
      grep -v -e '^saved vcpu0/fpu$' -e '^saved vcpu0/xsave$' -e '^saved vcpu0/msrs$' ${S}/manifest > ${lacking}/manifest`);
    await mount.ok(`${KVMFS} restore ${S} "$M/sse-clone" && ${KVMFS} restore ${lacking} "$M/sse-lacking"`);
    const origRest = await mount.ok(runToEnd('sse'));
    expect(await mount.ok(runToEnd('sse-clone'))).toBe(origRest);
    expect(await mount.ok('cat "$M/sse-clone/vcpu0/regs"')).toBe(await mount.ok('cat "$M/sse/vcpu0/regs"'));
    await mount.ok('cmp "$M/sse/memory" "$M/sse-clone/memory"');
    // the guest's last outputs are its xmm1 sum and MSR_KERNEL_GS_BASE: these differ without the state
    const lackingRest = await mount.ok(runToEnd('sse-lacking'));
    expect(lackingRest.split('\n').slice(0, -6)).toEqual(origRest.split('\n').slice(0, -6));
    expect(lackingRest).not.toBe(origRest);
    expect(origRest).toContain('data=0x600dcafe\nio out port=0x00e9 size=4 count=1 data=0x00001234\n');
    expect(lackingRest).not.toContain('data=0x600dcafe');
  });
});
