// Event ids: RFC 9562 UUIDv8 that sort by time and name the customer's ledger, so reading an event by id right after
// it was sent needs no cross-customer index, and a ledger's id index only ever grows at its end.
//
// Layout (128 bits, hex digits of "tttttttt-tttt-8aaa-Vbbb-bbbbssssssss"):
//   48 bits  milliseconds since the Unix epoch (the ledger's clock when the event was first stored)
//    4 bits  version 8
//   12 bits  customer hint, first 3 hex digits
//    2 bits  variant 10
//   24 bits  customer hint, next 6 hex digits (9 hex digits = the customer UUID's first 36 bits)
//   38 bits  the event's sequence number in its ledger
// NOTE: (ledger, seq) is unique by construction, so two events of one ledger never share an id, whatever the clock
// does; two ledgers would need the same 36-bit customer prefix, sequence number and millisecond to collide.

const HINT_DIGITS = 9;
const MAX_SEQ = 2 ** 38 - 1;
const MAX_MS = 2 ** 48 - 1;
const HEX = /^[0-9a-f]+$/;
const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The id of a ledger's event number `seq`, first stored at `ms`. */
export function eventId(customerId: string, seq: number, ms: number): string {
  return eventIdMinter(customerId)(seq, ms);
}

/** eventId for one customer, with the customer's part worked out once (ingest mints an id per event). */
export function eventIdMinter(customerId: string): (seq: number, ms: number) => string {
  const { versionGroup, variantGroup, lowBase } = hintParts(customerId);
  return (seq, ms) => {
    if (!Number.isSafeInteger(seq) || seq < 1 || seq > MAX_SEQ) throw new Error(`event sequence out of range: ${seq}`);
    if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_MS) throw new Error(`event time out of range: ${ms}`);
    const time = ms.toString(16).padStart(12, "0");
    const low = (lowBase + seq).toString(16).padStart(12, "0");
    return `${time.slice(0, 8)}-${time.slice(8)}-${versionGroup}-${variantGroup}-${low}`;
  };
}

/**
 * An SQL expression spelling the id eventIdMinter(customerId) mints from the integer columns `seqColumn` and `msColumn`
 * (for comparisons with an id from elsewhere, e.g. another ledger's event in a list cursor). Only hex digits and the
 * column names go into it, so it is safe to splice into a statement.
 */
export function eventIdSql(customerId: string, seqColumn: string, msColumn: string): string {
  const { versionGroup, variantGroup, lowBase } = hintParts(customerId);
  const time = `printf('%012x', ${msColumn})`;
  return `(substr(${time}, 1, 8) || '-' || substr(${time}, 9) || '-${versionGroup}-${variantGroup}-' || printf('%012x', ${lowBase} + ${seqColumn}))`;
}

/** The customer's parts of its events' ids. */
function hintParts(customerId: string): { versionGroup: string; variantGroup: string; lowBase: number } {
  const hint = customerId.replaceAll("-", "").slice(0, HINT_DIGITS).toLowerCase();
  if (hint.length !== HINT_DIGITS || !HEX.test(hint)) throw new Error("event ids need a UUID customer id");
  // The 62 bits after the variant: 24 bits of hint, then 38 bits of sequence number, split at bit 48 so that each
  // part is an exact JS integer (no BigInt per event).
  const hintTail = parseInt(hint.slice(3), 16);
  const variantGroup = (0x8000 + Math.floor(hintTail / 1024)).toString(16); // the hint's top 14 bits under the variant
  const lowBase = (hintTail % 1024) * 2 ** 38;
  return { versionGroup: `8${hint.slice(0, 3)}`, variantGroup, lowBase };
}

/** The first hex digits of the UUID of the customer whose ledger holds this event, or null if it is not such an id. */
export function customerHintOf(id: string): string | null {
  const lower = id.toLowerCase();
  if (!EVENT_ID.test(lower)) return null;
  const hex = lower.replaceAll("-", "");
  const tail = BigInt(`0x${hex.slice(16)}`) & (2n ** 62n - 1n);
  const hintTail = (tail >> 38n).toString(16).padStart(6, "0");
  return hex.slice(13, 16) + hintTail;
}

/** The sequence number an event id carries (null if it is not such an id). */
export function sequenceOf(id: string): number | null {
  if (customerHintOf(id) === null) return null;
  const hex = id.toLowerCase().replaceAll("-", "");
  return Number(BigInt(`0x${hex.slice(16)}`) & BigInt(MAX_SEQ));
}

/** The customer ids (UUIDs, lowercase) that can hold an event with this hint are those in [from, to). */
export function customerRangeOf(hint: string): { from: string; to: string } {
  // NOTE: the hint is 9 hex digits; a UUID's first 8 are followed by "-", so the range is on the first 10 characters.
  const prefix = `${hint.slice(0, 8)}-${hint.slice(8)}`;
  const last = parseInt(hint.slice(8), 16);
  const to = last < 15 ? `${hint.slice(0, 8)}-${(last + 1).toString(16)}` : `${nextHex(hint.slice(0, 8))}-`;
  return { from: prefix, to };
}

function nextHex(digits: string): string {
  // "0000ffff" → "00010000"; "ffffffff" has no successor among UUIDs, so any larger string bounds the range.
  if (/^f+$/.test(digits)) return "g";
  return (parseInt(digits, 16) + 1).toString(16).padStart(digits.length, "0");
}
