// `npm run bench`: kvmfs measured side by side with its floors, in one run.
// Progress goes to stderr, the results table to stdout (--json for
// machines); `--only KEY,...` measures some groups of rows (--list: which).
// Every client is a separate process (native/client.c), so the daemon under
// test never touches its own mount.
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Bench, type RowGroup } from './bench.js';
import { cleanup, log, REPS, shell, work, type Figure, type Row } from './harness.js';
import { buildNativeTools } from './native.js';
import { exitRows } from './rows-exit.js';
import { footprintRows } from './rows-footprint.js';
import { handoffRows } from './handoff.js';
import { requestRows } from './rows-requests.js';
import { consoleRows } from './console-rows.js';
import { saveRestoreRows } from './save-restore.js';

const groups: RowGroup[] = [...exitRows, ...requestRows, ...handoffRows, ...footprintRows, ...consoleRows, ...saveRestoreRows];
const args = process.argv.slice(2);
const json = args.includes('--json');

/** The groups `--only a,b` names (all without it); throws on a name that is none. */
function selected(): RowGroup[] {
  const at = args.indexOf('--only');
  if (at < 0) return groups;
  const keys = (args[at + 1] ?? '').split(',').filter((key) => key !== '');
  const unknown = keys.filter((key) => !groups.some((group) => group.key === key));
  if (keys.length === 0 || unknown.length > 0) throw new Error(`--only takes a comma-separated list of ${groups.map((group) => group.key).join(', ')}; not ${unknown.join(', ') || 'an empty list'}`);
  return groups.filter((group) => keys.includes(group.key));
}

async function main(): Promise<void> {
  if (args.includes('--list')) {
    for (const group of groups) process.stdout.write(`${group.key.padEnd(16)} ${group.what}\n`);
    return;
  }
  const chosen = selected();
  // kvmfs and both floors run the guest with KVM: without it there is nothing to compare.
  if (chosen.some((group) => group.needsKvm !== false) && !existsSync('/dev/kvm')) throw new Error('no /dev/kvm on this machine: kvmfs and the floors need KVM');
  log(`building the native floors and client in ${work}`);
  const bench = new Bench(buildNativeTools(join(work, 'native')));
  const rows: Row[] = [];
  const failed: string[] = [];
  for (const group of chosen) {
    log(`${group.key}: ${group.what}`);
    // one group that fails must not lose the rows the others measured
    try {
      rows.push(...await group.measure(bench));
    } catch (error) {
      log(`${group.key} failed: ${(error as Error).stack}`);
      failed.push(group.key);
    }
  }
  report(rows);
  if (failed.length > 0) throw new Error(`these groups failed (their errors are above): ${failed.join(', ')}`);
}

function report(rows: Row[]): void {
  const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', kernel: shell('uname -r').trim(), node: process.version, reps: REPS };
  if (json) {
    process.stdout.write(`${JSON.stringify({ machine, rows }, null, 2)}\n`);
    return;
  }
  const show = (f: Figure, digits = 1) => `${f.median.toFixed(digits)} (${f.min.toFixed(digits)}–${f.max.toFixed(digits)})`;
  const lines = [
    `machine: ${machine.cpus} x ${machine.model}, Linux ${machine.kernel}, Node ${machine.node}; median (min–max) of ${REPS} runs; a ratio is the median (min–max) of ${REPS} ratios measured in turns`,
    '',
    '| measure | unit | kvmfs | baseline | ratio | target | met |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((row) => `| ${row.name} | ${row.unit} | ${show(row.kvmfs)} | ${row.baseline ? `${row.baseline.name}: ${show(row.baseline.figure)}` : '–'} | ${row.ratio ? `${show(row.ratio, 2)}x` : '–'} | ${row.target} | ${row.met ? 'yes' : 'NO'} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(
  () => { cleanup(); setTimeout(() => process.exit(0), 700); },
  (error) => { log(`failed: ${(error as Error).stack}`); cleanup(); setTimeout(() => process.exit(1), 700); },
);
