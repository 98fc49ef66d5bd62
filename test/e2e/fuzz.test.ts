// Fuzzing every writable file through a real mount: seeded, at least
// 100,000 writes, by clients (test/e2e/clients/fuzz-client.mjs) running as
// child processes, one VM each. The clients check each case against the
// contract and report a JSON summary that this file asserts on.
//
// Replay a run: KVMFS_FUZZ_SEED=<seed printed below> npx vitest run test/e2e/fuzz.test.ts
// Name the one input behind a grouped failure: add KVMFS_FUZZ_GROUP=1.
// More or fewer writes: KVMFS_FUZZ_WRITES=<n>. See docs/reliability.md.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mount, projectRoot } from './harness.js';

const CLIENT_SCRIPT = join(projectRoot, 'test', 'e2e', 'clients', 'fuzz-client.mjs');
const SEED = process.env.KVMFS_FUZZ_SEED !== undefined ? Number(process.env.KVMFS_FUZZ_SEED) >>> 0 : Math.floor(Math.random() * 2 ** 32);
const WRITES = Number(process.env.KVMFS_FUZZ_WRITES ?? 100_000);
const GROUP = Number(process.env.KVMFS_FUZZ_GROUP ?? 32);
const CLIENTS = 4;
/** How long the clients may take together; on a quiet 2-core machine they need about half of it. */
const RUN_LIMIT_MS = 170_000;
const REPLAY = `replay: KVMFS_FUZZ_SEED=${SEED} KVMFS_FUZZ_GROUP=1 npx vitest run test/e2e/fuzz.test.ts`;

/** What a client prints as its last line (see fuzz-client.mjs). */
interface Failure {
  kind: string;
  message: string;
  inputs?: unknown[];
  diff?: string[];
}
interface Summary {
  client: number;
  vm: string;
  seed: number;
  cases: number;
  writes: number;
  accepted: number;
  rejected: number;
  runs: number;
  byFile: Record<string, number>;
  errnos: Record<string, number>;
  partialApplications: number;
  collateralChanges: number;
  wrongValues: number;
  kvmAdjusted: number;
  unexpectedErrnos: number;
  wrongOutcomes: number;
  lastErrorProblems: number;
  runAnswerProblems: number;
  memoryProblems: number;
  treeProblems: number;
  nameMismatches: number;
  crashes: number;
  maxLatencyMs: number;
  elapsedMs: number;
  adjustedExamples: unknown[];
  nameMismatchExamples: unknown[];
  failures: Failure[];
}
type Counter = 'partialApplications' | 'collateralChanges' | 'wrongValues' | 'unexpectedErrnos' | 'wrongOutcomes'
  | 'lastErrorProblems' | 'runAnswerProblems' | 'memoryProblems' | 'treeProblems' | 'crashes' | 'nameMismatches';

interface ClientRun {
  code: number | null;
  stderr: string;
  summary: Summary | undefined;
}

function runClient(mount: Mount, index: number, count: number): Promise<ClientRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLIENT_SCRIPT, mount.dir, `fuzz${index}`, String(SEED), String(count), '--client', String(index), '--group', String(GROUP)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      let summary: Summary | undefined;
      try {
        summary = JSON.parse(last) as Summary;
      } catch {
        summary = undefined;
      }
      resolve({ code, stderr, summary });
    });
  });
}

describe(`fuzzing every writable file (seed ${SEED})`, () => {
  let mount: Mount;
  let runs: ClientRun[] = [];
  let summaries: Summary[] = [];
  let elapsedMs = 0;

  const total = (key: Counter | 'writes' | 'cases' | 'accepted' | 'rejected' | 'runs' | 'kvmAdjusted') =>
    summaries.reduce((sum, s) => sum + s[key], 0);
  /** The failures of one kind from every client, as JSON with the seed, for the assertion message. */
  const failuresOf = (kind: Counter) => {
    const found = summaries.flatMap((s) => s.failures.filter((f) => f.kind === kind));
    return `seed ${SEED}, ${REPLAY}\n${JSON.stringify(found.slice(0, 5), null, 1)}`;
  };

  beforeAll(async () => {
    console.log(`kvmfs fuzz: seed ${SEED} (${REPLAY}); ${WRITES} writes by ${CLIENTS} clients, state checked every ${GROUP} unchanging writes`);
    mount = await Mount.start(['--max-memory', '64M', '--max-vms', '64', '--max-vcpus', '64']);
    const started = performance.now();
    const perClient = Math.ceil(WRITES / CLIENTS);
    runs = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => runClient(mount, i, perClient)));
    elapsedMs = performance.now() - started;
    summaries = runs.flatMap((run) => (run.summary ? [run.summary] : []));
    const errnos: Record<string, number> = {};
    const byFile: Record<string, number> = {};
    for (const s of summaries) {
      for (const [k, v] of Object.entries(s.errnos)) errnos[k] = (errnos[k] ?? 0) + v;
      for (const [k, v] of Object.entries(s.byFile)) byFile[k] = (byFile[k] ?? 0) + v;
    }
    console.log([
      `kvmfs fuzz: seed ${SEED}: ${total('writes')} writes (${total('accepted')} accepted, ${total('rejected')} rejected) in ${total('cases')} cases, ${(elapsedMs / 1000).toFixed(1)} s, ${Math.round(total('writes') / (elapsedMs / 1000))} writes/s`,
      `  by file: ${JSON.stringify(byFile)}`,
      `  outcomes: ${JSON.stringify(errnos)}`,
      `  vcpu1 runs checking answers: ${total('runs')}; max latency of one operation: ${Math.max(...summaries.map((s) => s.maxLatencyMs))} ms`,
      `  partial applications ${total('partialApplications')}, collateral changes ${total('collateralChanges')}, wrong values ${total('wrongValues')}, unexpected errnos ${total('unexpectedErrnos')}, wrong outcomes ${total('wrongOutcomes')}, last_error problems ${total('lastErrorProblems')}, run answer problems ${total('runAnswerProblems')}, memory problems ${total('memoryProblems')}, tree problems ${total('treeProblems')}, crashes ${total('crashes')}`,
      `  KVM adjusted a written value ${total('kvmAdjusted')} times, e.g. ${JSON.stringify(summaries[0]?.adjustedExamples.slice(0, 3))}`,
      `  VM names listed differently from how they were created: ${total('nameMismatches')}, e.g. ${JSON.stringify(summaries.flatMap((s) => s.nameMismatchExamples).slice(0, 3))}`,
    ].join('\n'));
  }, RUN_LIMIT_MS + 30_000);

  afterAll(async () => {
    await mount?.stop();
  });

  it('every client ran to the end, and together they wrote at least the asked number of times', () => {
    for (const [i, run] of runs.entries()) {
      expect(run.summary, `client ${i} (seed ${SEED}) printed no summary; exit ${run.code}\n${run.stderr.slice(-2000)}`).toBeDefined();
      expect(run.code, `client ${i} (seed ${SEED}) exit ${run.code}: ${JSON.stringify(run.summary?.failures.filter((f) => f.kind === 'clientError'))}\n${run.stderr.slice(-2000)}`).toBe(0);
    }
    expect(total('writes')).toBeGreaterThanOrEqual(WRITES);
    // the mix really covers every writable file (a short run, KVMFS_FUZZ_WRITES, may miss the rare ones)
    const files = new Set(summaries.flatMap((s) => Object.keys(s.byFile)));
    const wanted = ['vcpu0/regs', 'vcpu0/sregs', 'vcpu0/run', 'vcpu1/run', 'vcpu0/interrupt', 'vcpu0/stop', 'vcpu1/stop', 'memory', 'mkdir', 'rmdir'];
    if (WRITES >= 20_000) for (const file of wanted) expect(files, `seed ${SEED}`).toContain(file);
    expect(total('accepted')).toBeGreaterThan(WRITES / 10);
    expect(total('rejected')).toBeGreaterThan(WRITES / 2);
  });

  it('no rejected write changed anything (no partial application)', () => {
    expect(total('partialApplications'), failuresOf('partialApplications')).toBe(0);
  });

  it('accepted writes changed exactly what they named, to the values written', () => {
    expect(total('collateralChanges'), failuresOf('collateralChanges')).toBe(0);
    expect(total('wrongValues'), failuresOf('wrongValues')).toBe(0);
    expect(total('runAnswerProblems'), failuresOf('runAnswerProblems')).toBe(0);
    expect(total('memoryProblems'), failuresOf('memoryProblems')).toBe(0);
    expect(total('treeProblems'), failuresOf('treeProblems')).toBe(0);
  });

  it('only errnos the contract allows, and the one each input calls for', () => {
    expect(total('unexpectedErrnos'), failuresOf('unexpectedErrnos')).toBe(0);
    expect(total('wrongOutcomes'), failuresOf('wrongOutcomes')).toBe(0);
  });

  it('every rejected write left one line in last_error naming the file', () => {
    expect(total('lastErrorProblems'), failuresOf('lastErrorProblems')).toBe(0);
  });

  it('the daemon survived: still running, api_version 12, the tree usable, the fuzzed VMs gone', async () => {
    expect(total('crashes'), failuresOf('crashes')).toBe(0);
    expect(mount.daemon.exitCode, `the daemon exited (seed ${SEED}): ${mount.output.slice(-2000)}`).toBeNull();
    expect(await mount.ok('cat "$M/api_version"')).toBe('12\n');
    // each client removed its VM and every throwaway VM it made
    expect(await mount.ok('ls -A "$M"')).toBe('api_version\ncapabilities\nlast_error\nmsr_index_list\nsupported_cpuid\n');
    await mount.ok('mkdir "$M/after" "$M/after/vcpu0" && echo "rax 0x42" > "$M/after/vcpu0/regs" && grep -qx "rax 0x0000000000000042" "$M/after/vcpu0/regs" && rmdir "$M/after"');
  });

  // fuse-native hands kvmfs paths as JS strings (bytes that are not UTF-8
  // become U+FFFD) and cuts long names when listing, so kvmfs refuses such
  // names (EINVAL, ENAMETOOLONG); every VM it makes is listed as created.
  it('VM names are listed exactly as they were created', () => {
    expect(total('nameMismatches'), `seed ${SEED}: ${JSON.stringify(summaries.flatMap((s) => s.nameMismatchExamples).slice(0, 5))}`).toBe(0);
  });
});
