// The cases controllers-fuzz.test.ts writes: for each controller file, lines
// that are valid and lines that are not, and writes that mix one bad line
// into valid ones (the write must fail naming that line).

const PIC_FIELDS = ['irr', 'imr', 'isr', 'last_irr', 'priority_add', 'irq_base', 'read_reg_select', 'poll', 'special_mask',
  'init_state', 'auto_eoi', 'rotate_on_auto_eoi', 'special_fully_nested_mode', 'init4', 'elcr', 'elcr_mask'];
const LAPIC_32 = ['id', 'version', 'tpr', 'apr', 'ppr', 'ldr', 'dfr', 'svr', 'esr', 'lvt_timer', 'lvt_thermal', 'lvt_perf',
  'lvt_lint0', 'lvt_lint1', 'lvt_error', 'timer_initial', 'timer_current', 'timer_divide'];
const PIN_FIELDS: Array<[string, number]> = [['vector', 8], ['delivery_mode', 3], ['dest_mode', 1], ['mask', 1], ['trig_mode', 1],
  ['remote_irr', 1], ['dest_id', 8], ['delivery_status', 1], ['polarity', 1]];
const CHANNEL_FIELDS: Array<[string, number]> = [['count', 32], ['mode', 8], ['gate', 8], ['latched_count', 16], ['count_latched', 8],
  ['status_latched', 8], ['status', 8], ['read_state', 8], ['write_state', 8], ['write_latch', 8], ['rw_mode', 8], ['bcd', 8],
  ['count_load_time', 64]];

export type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const number = (random: Random, bits: number): string => {
  const value = BigInt(Math.floor(random() * 2 ** Math.min(bits, 32)));
  return random() < 0.5 ? `0x${value.toString(16)}` : value.toString();
};

/** How to make lines for one file: a valid one, and bad ones (each must make the whole write fail). */
interface FileGrammar {
  valid(random: Random): string;
  bad(random: Random): string;
}

function valueGrammar(names: string[], bits: (name: string) => number): FileGrammar {
  return {
    valid: (random) => {
      const name = pick(random, names);
      return `${name} ${number(random, bits(name))}`;
    },
    bad: (random) => {
      const name = pick(random, names);
      return pick(random, [
        `${name}x 1`, `${name} 0x1${'0'.repeat(bits(name) / 4)}`, `${name} 12z`, `${name}`, `${name} 1 2`, `${name} -1`, `${name} 1\x01`,
      ]);
    },
  };
}

function partGrammar(prefix: string, count: number, fields: Array<[string, number]>, single: string[]): FileGrammar {
  const fieldText = (random: Random) => {
    const [field, bits] = pick(random, fields);
    return `${field}=${number(random, bits)}`;
  };
  return {
    valid: (random) => (random() < 0.2 && single.length > 0
      ? `${pick(random, single)} ${number(random, 32)}`
      : `${prefix}${Math.floor(random() * count)} ${fieldText(random)}`),
    bad: (random) => {
      const part = `${prefix}${Math.floor(random() * count)}`;
      const [field, bits] = pick(random, fields);
      return pick(random, [
        `${prefix}${count} ${fieldText(random)}`, `${part} ${field}=0x1${'0'.repeat(Math.ceil(bits / 4))}`, `${part} colour=1`,
        `${part} ${field}`, `${part}`, `${part} ${field}=1 ${field}=1`, `${prefix}0${Math.floor(random() * count)} ${fieldText(random)}`,
      ]);
    },
  };
}

const GRAMMARS: Record<string, FileGrammar> = {
  pic_master: valueGrammar(PIC_FIELDS, () => 8),
  pic_slave: valueGrammar(PIC_FIELDS, () => 8),
  'vcpu0/lapic': valueGrammar([...LAPIC_32, 'isr', 'tmr', 'irr', 'icr'], (name) => (['isr', 'tmr', 'irr'].includes(name) ? 256 : name === 'icr' ? 64 : 32)),
  ioapic: partGrammar('pin', 24, PIN_FIELDS, ['base_address', 'id', 'irr', 'ioregsel']),
  pit: partGrammar('ch', 3, CHANNEL_FIELDS, ['flags']),
};

export interface Case {
  file: string;
  text: string;
  /** the 1-based line the rejection must name; undefined: a write back of what was read, which must succeed */
  badLine: number | undefined;
}

export function makeCase(random: Random): Case {
  const file = pick(random, Object.keys(GRAMMARS));
  const grammar = GRAMMARS[file]!;
  if (random() < 0.1) return { file, text: '', badLine: undefined };
  const lines = Array.from({ length: Math.floor(random() * 4) }, () => grammar.valid(random));
  const at = Math.floor(random() * (lines.length + 1));
  lines.splice(at, 0, grammar.bad(random));
  // A valid line repeated after the bad one cannot move the failure earlier; before it, it could (a duplicate).
  const unique = new Set(lines.slice(0, at).map((line) => line.split(' ')[0]));
  const badLine = unique.size === at ? at + 1 : undefined;
  return badLine === undefined ? makeCase(random) : { file, text: `${lines.join('\n')}\n`, badLine };
}
