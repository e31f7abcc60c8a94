const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/**
 * Formats a time in UTC exactly as Go's `t.UTC().Format(time.RFC850)` does:
 * `Monday, 02-Jan-06 15:04:05 UTC`.
 */
export function formatRfc850(date: Date): string {
  const year = date.getUTCFullYear() % 100;
  return (
    `${days[date.getUTCDay()]}, ${two(date.getUTCDate())}-${months[date.getUTCMonth()]}-${two(year)} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} UTC`
  );
}

/** A clock that formats each second once: the backend answers many requests within one. */
export function cachedRfc850Clock(now: () => number = Date.now): () => string {
  let second = Number.NaN;
  let text = '';
  return () => {
    const t = now();
    const s = Math.floor(t / 1000);
    if (s !== second) {
      second = s;
      text = formatRfc850(new Date(s * 1000));
    }
    return text;
  };
}
