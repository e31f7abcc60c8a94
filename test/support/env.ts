/** A complete, valid service environment with loopback addresses and quiet logs. */
export function quietEnv(prefix: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { [`${prefix}_PORT`]: '0', [`${prefix}_LOG_LEVEL`]: 'info', ...extra };
}
