// Helpers of the run control suites (run-control.test.ts, run-stop.test.ts).

/** Where the `watch` guest's loop is: incl 0x2000; cmpb $0, 0x2100; je 1b (0x1000..0x100b) */
export const WATCH_LOOP = [0x1000n, 0x100bn] as const;

/** Parses `key=value` words from a shell's output. */
export function fields(text: string): Record<string, string> {
  return Object.fromEntries(text.trim().split(/\s+/).map((word) => {
    const at = word.indexOf('=');
    return at < 0 ? [word, ''] : [word.slice(0, at), word.slice(at + 1)];
  }));
}
