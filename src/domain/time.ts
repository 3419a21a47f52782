// RFC 3339 UTC formatting and parsing for the wire; the domain works in epoch milliseconds.

/** `2026-03-01T12:34:56Z`, with milliseconds only when they are not zero (so inputs round-trip). */
export function formatTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith(".000Z") ? `${iso.slice(0, -5)}Z` : iso;
}

export function formatNullableTimestamp(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : formatTimestamp(ms);
}

// NOTE: only explicit UTC ("Z") or numeric offsets are accepted; a bare local time is ambiguous for billing.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
// NOTE: the wall-clock check below is on the local fields, so an offset can still push the instant outside 1970..9999 UTC;
// such instants are rejected too, or formatTimestamp would emit something ("+010000-...", pre-epoch) we can't parse back.
const MIN_MS = 0;
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Parses an RFC 3339 timestamp (or a bare `YYYY-MM-DD`, meaning midnight UTC). Returns null if invalid. */
export function parseTimestamp(input: string): number | null {
  const dateOnly = DATE_ONLY.exec(input);
  if (dateOnly) return validDate(+dateOnly[1]!, +dateOnly[2]!, +dateOnly[3]!, 0, 0, 0) ? Date.parse(`${input}T00:00:00Z`) : null;
  const m = RFC3339.exec(input);
  if (!m) return null;
  if (!validDate(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) return null;
  const fraction = m[7] ? m[7].slice(0, 4).padEnd(4, "0") : ".000";
  const normalized = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${fraction}${m[8]!.toUpperCase()}`;
  const ms = Date.parse(normalized);
  return Number.isFinite(ms) && ms >= MIN_MS && ms <= MAX_MS ? ms : null;
}

function validDate(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59) return false;
  return d >= 1 && d <= daysInMonth(y, mo - 1);
}

/** Days in a month; `month0` is 0-based (January = 0). */
export function daysInMonth(year: number, month0: number): number {
  return new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();
}
