// Fuzzing every writable state file of a VM and its vcpu through a real
// mount: test/e2e/clients/state-fuzz-client.mjs finds the files by listing
// the tree (so files added later are covered), writes seeded junk and
// mutated read-backs, and checks each rejected write: an allowed errno,
// the file unchanged, one line naming it in last_error. The files
// fuzz.test.ts covers (regs, sregs, run, interrupt, stop, memory) are left
// to it.
//
// Replay: KVMFS_STATE_FUZZ_SEED=<seed printed below> npx vitest run test/e2e/state-fuzz.test.ts
// More or fewer writes: KVMFS_STATE_FUZZ_WRITES=<n>; each input: add --verbose to the client by hand.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, projectRoot, slowdown } from './harness.js';

const CLIENT_SCRIPT = join(projectRoot, 'test', 'e2e', 'clients', 'state-fuzz-client.mjs');
const SEED = process.env.KVMFS_STATE_FUZZ_SEED !== undefined ? Number(process.env.KVMFS_STATE_FUZZ_SEED) >>> 0 : Math.floor(Math.random() * 2 ** 32);
/** A few thousand (about 15 s here); a slow machine (KVMFS_E2E_SLOW) makes fewer. */
const WRITES = Number(process.env.KVMFS_STATE_FUZZ_WRITES ?? Math.round(3000 / Math.min(slowdown, 5)));
const RUN_LIMIT_MS = 120_000 * slowdown;
/** This branch's files; whatever else the listing finds is fuzzed too. */
const STATE_FILES = ['fpu', 'xsave', 'xcrs', 'msrs', 'cpuid', 'events', 'mp_state', 'debugregs', 'nmi'].map((f) => `vcpu0/${f}`);

interface Summary {
  seed: number;
  writes: number;
  accepted: number;
  rejected: number;
  unstable: number;
  crashes: number;
  files: string[];
  byFile: Record<string, { writes: number; accepted: number; rejected: number }>;
  errnos: Record<string, number>;
  failures: Array<{ kind: string; file?: string; message: string; input?: string }>;
  elapsedMs: number;
}

describe(`fuzzing every writable state file (seed ${SEED})`, () => {
  let mount: Mount;
  let summary: Summary | undefined;
  let code: number | null = null;
  let stderr = '';

  beforeAll(async () => {
    mount = await Mount.start();
    const stdout = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [CLIENT_SCRIPT, mount.dir, 'sfuzz', String(SEED), String(WRITES)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      const timer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
      child.on('close', (exit) => { clearTimeout(timer); code = exit; resolve(out); });
    });
    try {
      summary = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Summary;
    } catch {
      summary = undefined;
    }
    if (summary) {
      console.log(`kvmfs state fuzz: seed ${SEED}: ${summary.writes} writes (${summary.accepted} accepted, ${summary.rejected} rejected, ${summary.unstable} not comparable) in ${(summary.elapsedMs / 1000).toFixed(1)} s\n  files: ${summary.files.join(' ')}\n  outcomes: ${JSON.stringify(summary.errnos)}`);
    }
  }, RUN_LIMIT_MS + 30_000);

  afterAll(async () => { await mount?.stop(); });

  const replay = `replay: KVMFS_STATE_FUZZ_SEED=${SEED} npx vitest run test/e2e/state-fuzz.test.ts`;

  it('the client ran to the end and fuzzed every writable file it found, this branch\'s among them', () => {
    expect(summary, `no summary (exit ${code}); ${replay}\n${stderr.slice(-2000)}`).toBeDefined();
    expect(code, `${replay}\n${JSON.stringify(summary!.failures.filter((f) => f.kind === 'clientError'))}`).toBe(0);
    expect(summary!.writes).toBe(WRITES);
    for (const file of STATE_FILES) expect(summary!.files).toContain(file);
    for (const file of ['vcpu0/regs', 'vcpu0/sregs', 'vcpu0/run', 'vcpu0/interrupt', 'memory']) expect(summary!.files).not.toContain(file);
    if (WRITES >= 500) for (const file of summary!.files) expect(summary!.byFile[file]?.writes, file).toBeGreaterThan(0);
    expect(summary!.rejected).toBeGreaterThan(WRITES / 2);
  });

  it('no rejected write changed a file, each gave an allowed errno and one line naming the file in last_error', () => {
    expect(summary!.failures, replay).toEqual([]);
  });

  it('the daemon survived', async () => {
    expect(summary!.crashes).toBe(0);
    expect(mount.daemon.exitCode, mount.output.slice(-2000)).toBeNull();
    expect(await mount.ok('cat "$M/api_version"')).toBe('12\n');
    expect(await mount.ok('ls "$M"')).not.toContain('sfuzz');
  });
});
