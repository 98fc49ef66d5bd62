// The one error type of the text formats. The fs layer answers it with EINVAL
// and puts its message in the VM's last_error file, so the message is one
// line meant for people.

/** Longest user-written text echoed back in a message, so it stays one short line. */
const MAX_QUOTED = 40;

export class FormatError extends Error {
  /** The reason without the line prefix. */
  readonly reason: string;
  /** The 1-based input line the reason is about, if it is about one. */
  readonly line: number | undefined;

  /** `message` is `line N: reason` when a line is given, else just `reason`. */
  constructor(reason: string, line?: number) {
    super(line === undefined ? reason : `line ${line}: ${reason}`);
    this.name = 'FormatError';
    this.reason = reason;
    this.line = line;
  }
}

/** Runs `parse` and attributes any FormatError it throws to `line`. */
export function atLine<T>(line: number, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof FormatError && err.line === undefined) throw new FormatError(err.reason, line);
    throw err;
  }
}

/** Runs `parse` and puts `context: ` in front of any FormatError's reason. */
export function within<T>(context: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof FormatError) throw new FormatError(`${context}: ${err.reason}`, err.line);
    throw err;
  }
}

/** User text cut short if long, to echo it in a message. */
export function shorten(text: string): string {
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}...` : text;
}

/**
 * User text in double quotes for a message, shortened and escaped: a NUL
 * shows as \u0000 and a message never spans lines.
 */
export function quote(text: string): string {
  return JSON.stringify(shorten(text));
}
