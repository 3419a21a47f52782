// Event activity minutes and the newest-first order of event lists: shared by the ledger, which records which minutes
// it holds events in, and the edge, which walks those minutes to list events across customers.

export const ACTIVITY_MINUTE_MS = 60_000;

/** The activity minute of an event timestamp (ms since the epoch): minutes since the epoch, floored. */
export function activityMinuteOf(ts: number): number {
  return Math.floor(ts / ACTIVITY_MINUTE_MS);
}

/** Where a list page resumes: strictly after (older than) this event in newest-first order. */
export type ListPosition = readonly [ts: number, id: string];

/**
 * Newest first: by timestamp, then by id (both descending), the order every event list and its cursor use.
 * NOTE: ids compare as strings, as SQLite's BINARY collation compares them in the ledger's index.
 */
export function newestFirst(a: ListPosition, b: ListPosition): number {
  if (a[0] !== b[0]) return b[0] - a[0];
  return a[1] < b[1] ? 1 : a[1] > b[1] ? -1 : 0;
}

/**
 * The minutes whose events a list may show, as an inclusive [low, high] range (null when empty): `from`/`to` are the
 * half-open timestamp filter, `cursor` the last event of the previous page.
 */
export function activityMinuteRange(from: number | undefined, to: number | undefined, cursor: ListPosition | undefined): [number, number] | null {
  const low = from === undefined ? Number.MIN_SAFE_INTEGER : activityMinuteOf(from);
  let high = Number.MAX_SAFE_INTEGER;
  if (to !== undefined) high = activityMinuteOf(to - 1);
  if (cursor) high = Math.min(high, activityMinuteOf(cursor[0]));
  return low <= high ? [low, high] : null;
}
