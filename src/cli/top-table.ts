// The table `kvmfs top` prints: one row per vcpu under a row per VM, with
// exits per second by reason between two samples of the `stats` files (as
// kvm_stat shows KVM's counters). Pure: samples in, text out.

/** What one look at a vcpu's files found. */
export interface VcpuSample {
  name: string;
  /** mp_state's word, if the mount has that file */
  mpState?: string;
  rip?: bigint;
  /** the `stats` file's counters; undefined where the mount has no stats file */
  stats?: Map<string, bigint>;
}

export interface VmSample { name: string; vcpus: VcpuSample[] }

/** Reasons always shown, in this order; other `*_exits` counters join when they move. */
const FIXED_REASONS = ['exits', 'io_exits', 'mmio_exits', 'halt_exits', 'irq_exits'];

/** `name value` lines (stats, mp_state ...) as counters. */
export function parseCounters(text: string): Map<string, bigint> {
  const counters = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name && value && /^(0x[0-9a-f]+|[0-9]+)$/i.test(value)) counters.set(name, BigInt(value));
  }
  return counters;
}

interface Row { vm: string; vcpu: string; state: string; rip: string; rates: Map<string, number | undefined> }

/** Rates per second of each counter between `before` and `after`, `seconds` apart. */
function rates(before: VcpuSample | undefined, after: VcpuSample, seconds: number): Map<string, number | undefined> {
  const result = new Map<string, number | undefined>();
  if (!after.stats) return result;
  for (const [name, value] of after.stats) {
    const old = before?.stats?.get(name);
    result.set(name, old === undefined || seconds <= 0 ? undefined : Number(value - old) / seconds);
  }
  return result;
}

/** Which reasons get a column: the fixed ones, then any other `*_exits` that moved, by name. */
function reasonColumns(rows: Row[]): string[] {
  const moving = new Set<string>();
  for (const row of rows) {
    for (const [name, rate] of row.rates) if (name.endsWith('_exits') && !FIXED_REASONS.includes(name) && rate) moving.add(name);
  }
  return [...FIXED_REASONS, ...[...moving].sort()];
}

/** A vcpu's state: mp_state where the mount has it, else whether it moved in the interval. */
function stateOf(before: VcpuSample | undefined, after: VcpuSample, rowRates: Map<string, number | undefined>): string {
  if (after.mpState) return after.mpState;
  const moved = (before?.rip !== undefined && after.rip !== before.rip) || (rowRates.get('exits') ?? 0) > 0;
  return moved ? 'active' : 'idle';
}

function formatRate(rate: number | undefined): string {
  return rate === undefined ? '-' : String(Math.round(rate));
}

/**
 * The table for two samples `seconds` apart: a header, then per VM a line
 * with its vcpus' sums and one line per vcpu.
 */
export function renderTable(before: VmSample[], after: VmSample[], seconds: number): string {
  const rows: Row[] = [];
  for (const vm of after) {
    const old = before.find((candidate) => candidate.name === vm.name);
    const vcpuRows = vm.vcpus.map((vcpu): Row => {
      const previous = old?.vcpus.find((candidate) => candidate.name === vcpu.name);
      const vcpuRates = rates(previous, vcpu, seconds);
      return {
        vm: '', vcpu: vcpu.name, state: stateOf(previous, vcpu, vcpuRates),
        rip: vcpu.rip === undefined ? '-' : `0x${vcpu.rip.toString(16).padStart(16, '0')}`, rates: vcpuRates,
      };
    });
    const sums = new Map<string, number | undefined>();
    for (const name of new Set(vcpuRows.flatMap((row) => [...row.rates.keys()]))) {
      const values = vcpuRows.map((row) => row.rates.get(name));
      sums.set(name, values.some((value) => value === undefined) ? undefined : values.reduce<number>((sum, value) => sum + value!, 0));
    }
    rows.push({ vm: vm.name, vcpu: `${vm.vcpus.length} vcpu${vm.vcpus.length === 1 ? '' : 's'}`, state: '', rip: '', rates: sums }, ...vcpuRows);
  }
  const reasons = reasonColumns(rows);
  const header = ['VM', 'VCPU', 'STATE', 'RIP', ...reasons.map((reason) => `${reason.replace(/_exits$/, '').toUpperCase()}/s`)];
  const cells = rows.map((row) => [row.vm, row.vcpu, row.state, row.rip, ...reasons.map((reason) => formatRate(row.rates.get(reason)))]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column]!.length)));
  const line = (values: string[]) => values.map((value, column) => (column < 4 ? value.padEnd(widths[column]!) : value.padStart(widths[column]!))).join('  ').trimEnd();
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}
