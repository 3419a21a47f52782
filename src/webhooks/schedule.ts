// When a failed delivery is tried again: exponential backoff, capped, for 3 days after the event.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Retry for this long after a delivery is created; an endpoint failing this long is disabled. */
export const RETRY_WINDOW_MS = 3 * 24 * HOUR;

/** A delivery in flight holds its row this long; if the dispatcher dies mid-attempt, the next one retries it. */
export const ATTEMPT_LEASE_MS = 2 * MINUTE;

/** Per-attempt timeout for the endpoint's answer. */
export const ATTEMPT_TIMEOUT_MS = 15 * SECOND;

/**
 * Delay before attempt n+1 after n failed attempts: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, then every
 * 12 h. NOTE: with the last attempt pulled back to exactly 3 days (dispatcher), a delivery gets 15 attempts in all.
 */
export function retryDelayMs(failedAttempts: number): number {
  const steps = [5 * SECOND, 30 * SECOND, 2 * MINUTE, 10 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR];
  return steps[failedAttempts - 1] ?? 12 * HOUR;
}
