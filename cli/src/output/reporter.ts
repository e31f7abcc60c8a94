/** Where progress goes: human lines on stderr, or nothing (`--quiet`). */
export interface Reporter {
  /** Start a named step; finish it with ok or fail. */
  step(title: string): Step;
  info(line: string): void;
  warn(line: string): void;
}

/** A running step. */
export interface Step {
  /** A `^ reason` line under the step: what it is waiting on. */
  reason(line: string): void;
  ok(detail?: string): void;
  fail(detail?: string): void;
}

const ANSI = { green: '\u001b[32m', red: '\u001b[31m', yellow: '\u001b[33m', dim: '\u001b[2m', reset: '\u001b[0m' } as const;

/** Options of {@link humanReporter}. */
export interface HumanOptions {
  readonly write?: (text: string) => void;
  /** Colour on; by default only when stderr is a terminal and NO_COLOR is unset. */
  readonly color?: boolean;
}

/**
 * kind-style step lines on stderr: ` • title ...`, then ` ✓ title` or ` ✗ title`, with
 * ` ^ reason` lines under a step that is waiting. No ANSI codes unless stderr is a terminal.
 */
export function humanReporter({ write = (t) => void process.stderr.write(t), color = process.stderr.isTTY === true && !process.env.NO_COLOR }: HumanOptions = {}): Reporter {
  const paint = (code: keyof typeof ANSI, text: string): string => (color ? `${ANSI[code]}${text}${ANSI.reset}` : text);
  return {
    step(title) {
      write(` • ${title} ...\n`);
      let done = false;
      return {
        reason: (line) => {
          if (!done) write(paint('dim', `   ^ ${line}`) + '\n');
        },
        ok: (detail) => {
          if (done) return;
          done = true;
          write(`${paint('green', ' ✓')} ${title}${detail ? ` ${paint('dim', `(${detail})`)}` : ''}\n`);
        },
        fail: (detail) => {
          if (done) return;
          done = true;
          write(`${paint('red', ' ✗')} ${title}\n`);
          if (detail) for (const line of detail.split('\n')) write(`   ^ ${line}\n`);
        },
      };
    },
    info: (line) => write(`   ${line}\n`),
    warn: (line) => write(`${paint('yellow', ' !')} ${line}\n`),
  };
}

/** A reporter that prints nothing. */
export const quietReporter: Reporter = {
  step: () => ({ reason: () => undefined, ok: () => undefined, fail: () => undefined }),
  info: () => undefined,
  warn: () => undefined,
};
