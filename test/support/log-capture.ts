/** A pino destination that keeps every JSON line in memory, for assertions on logs. */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];

  write(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (line.trim() !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  }

  /** Lines whose `msg` is `msg`. */
  withMessage(msg: string): Record<string, unknown>[] {
    return this.lines.filter((l) => l.msg === msg);
  }
}
