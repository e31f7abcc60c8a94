import { setTimeout as delay } from 'node:timers/promises';

/** How {@link KubeHttp} retries a call whose try failed for a reason that may pass. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  /** Wait before the first retry; doubled for each further one up to `maxDelayMs`, then jittered (half to all of it). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /**
   * No retry starts once this long has passed since the first try (a try under way may end
   * up to one try time limit later), and a `Retry-After` that reaches beyond it gives up at once.
   */
  readonly budgetMs: number;
  /** How a wait is made (tests record it instead). */
  readonly sleep: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). */
  readonly random: () => number;
}

/** The CLI's retries: 5 tries within 30 s, waits of 0.25 s doubling to 4 s, jittered. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 4_000,
  budgetMs: 30_000,
  sleep: (ms) => delay(ms),
  random: Math.random,
};

/** How one try ended. */
export type TryOutcome =
  | { readonly kind: 'status'; readonly status: number; readonly retryAfterMs?: number }
  /** No answer within the try's time limit. */
  | { readonly kind: 'timeout' }
  /** The connection was reset or closed before a whole answer came. */
  | { readonly kind: 'reset' }
  /** Anything else (refused, DNS, TLS): retrying will not help. */
  | { readonly kind: 'other' };

/** Methods that can be repeated without a second effect (server-side apply is a PATCH). */
const IDEMPOTENT = new Set(['GET', 'PUT', 'PATCH', 'DELETE']);
/** Statuses of an API server (or a proxy in front of it) that is overloaded or briefly unwell. */
const TRANSIENT_STATUSES = new Set([500, 502, 503, 504]);

/**
 * Whether a try that ended so may be tried again, and if not, why not (for the error).
 * A 429 is refused before the server does anything, so any request may repeat it; a 5xx, a
 * timeout or a reset may come after the server acted, so only idempotent requests repeat
 * them (by default the idempotent methods; not a create, nor a compare-and-swap replace,
 * whose repeat would fail against its own first write).
 */
export function retryable(method: string, outcome: TryOutcome, idempotent = IDEMPOTENT.has(method)): { readonly retry: boolean; readonly why?: string } {
  if (outcome.kind === 'other') return { retry: false };
  if (outcome.kind === 'status' && outcome.status === 429) return { retry: true };
  if (outcome.kind === 'status' && !TRANSIENT_STATUSES.has(outcome.status)) return { retry: false };
  if (idempotent) return { retry: true };
  return { retry: false, why: `not retried: a ${method === 'PUT' ? 'conditional PUT' : method} may have taken effect` };
}

/** The wait before retry number `retry` (1 for the first): exponential with jitter, or what the server asked for. */
export function retryDelay(policy: RetryPolicy, retry: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + (policy.random() * ceiling) / 2);
}

/** A `Retry-After` header (seconds, or an HTTP date) in milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
