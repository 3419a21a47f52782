// Proves ledger sharding: key routing, earlier homes, shard histories, seq ranges, and that merged partials equal the unsharded aggregate.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Quantity, type Aggregation } from "../../src/domain/events";
import {
  MAX_LEDGER_SHARDS,
  SHARD_SEQ_SPAN,
  earlierHomes,
  keyHash,
  mergePartials,
  nextShardHistory,
  shardOfKey,
  shardOfSeq,
  shardsOf,
  type PartialAggregate,
} from "../../src/domain/ledger-shards";
import { quantityOf } from "../../src/ledger/aggregates";

const key = fc.string({ unit: "binary", maxLength: 40 });
const shardCount = fc.integer({ min: 1, max: MAX_LEDGER_SHARDS });
/** Every count a customer has had, oldest first: strictly increasing, at most MAX_LEDGER_SHARDS. */
const history = fc.uniqueArray(shardCount, { minLength: 1, maxLength: 8 }).map((h) => h.sort((a, b) => a - b));

/** FNV-1a written independently, with BigInt arithmetic. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5n;
  for (let i = 0; i < s.length; i++) h = ((h ^ BigInt(s.charCodeAt(i))) * 0x01000193n) % 2n ** 32n;
  return Number(h);
}

describe("keyHash and shardOfKey", () => {
  it.each([
    ["", 0x811c9dc5, [1, 1, 1, 2, 5]],
    ["a", 0xe40c292c, [0, 1, 0, 5, 44]],
    ["foobar", 0xbf9cf968, [0, 1, 0, 0, 40]],
    ["order-42", 1461995252, [0, 2, 0, 4, 52]],
    ["idem_2026-03-01_0001", 439930355, [1, 2, 3, 4, 51]],
    ["é", 1812687940, [0, 1, 0, 0, 4]],
  ])("keyHash(%j) is pinned, and its shards under 2, 3, 4, 7 and 64", (k, h, shards) => {
    expect(keyHash(k)).toBe(h);
    expect([2, 3, 4, 7, 64].map((count) => shardOfKey(k, count))).toEqual(shards);
  });

  it("is a 32-bit unsigned FNV-1a over UTF-16 code units", () => {
    fc.assert(
      fc.property(key, (k) => {
        const h = keyHash(k);
        expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
        expect(h).toBe(fnv1a(k));
        expect(keyHash(k)).toBe(h);
      }),
    );
  });

  it("routes into [0, count), to 0 with one shard or none", () => {
    fc.assert(
      fc.property(key, shardCount, (k, count) => {
        const s = shardOfKey(k, count);
        expect(Number.isInteger(s) && s >= 0 && s < count).toBe(true);
        expect(s).toBe(keyHash(k) % count); // the rule earlierHomes replays
        expect(shardOfKey(k, 1)).toBe(0);
        expect(shardOfKey(k, 0)).toBe(0);
      }),
    );
  });

  it("spreads 10,000 keys evenly over 4 shards (each within 20% of 2,500)", () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 10_000; i++) counts[shardOfKey(`idem-${i}`, 4)]! += 1;
    for (const c of counts) expect(Math.abs(c - 2_500)).toBeLessThanOrEqual(500);
  });
});

describe("earlierHomes", () => {
  it.each([
    ["order-42", [1], 0, []],
    ["order-42", [1, 4], 3, [0]],
    ["order-42", [1, 4], 0, []],
    ["idem_2026-03-01_0001", [1, 4], 3, [0]],
    ["idem_2026-03-01_0001", [1, 2, 4, 8], 3, [0, 1]], // 2 → 1, 4 → 3 (the shard itself)
    ["idem_2026-03-01_0001", [1, 3, 6], 5, [0, 2]],
    ["idem_2026-03-01_0001", [2, 4, 8], 0, [1, 3]],
  ])("%j with history %j, in shard %i: %j", (k, h, shard, homes) => {
    expect(earlierHomes(k, h, shard)).toEqual(homes);
  });

  it("lists exactly the other shards the key routed to under earlier counts, once each", () => {
    fc.assert(
      fc.property(key, history, fc.nat(), (k, h, n) => {
        const shard = n % shardsOf(h);
        const homes = earlierHomes(k, h, shard);
        const earlier = h.slice(0, -1).map((count) => keyHash(k) % count);
        expect(homes).not.toContain(shard);
        expect(new Set(homes).size).toBe(homes.length);
        for (const home of homes) expect(earlier).toContain(home);
        for (const home of earlier) if (home !== shard) expect(homes).toContain(home);
      }),
    );
  });
});

describe("nextShardHistory and shardsOf", () => {
  it.each([
    [[1], 1, [1]],
    [[1, 4], 4, [1, 4]],
    [[1, 4], 2, "not_raised"],
    [[1, 4], 1, "not_raised"],
    [[1], 65, "too_many"],
    [[1, 4], MAX_LEDGER_SHARDS + 1, "too_many"],
    [[1], MAX_LEDGER_SHARDS, [1, MAX_LEDGER_SHARDS]],
    [[1, 4], 8, [1, 4, 8]],
    [[], 1, []],
    [[], 2, [2]],
  ])("%j then %i → %j", (h, count, next) => {
    expect(nextShardHistory(h, count)).toEqual(next);
  });

  it("returns a copy, never the history itself", () => {
    const h = [1, 4];
    const same = nextShardHistory(h, 4) as number[];
    expect(same).not.toBe(h);
    same.push(8);
    expect(h).toEqual([1, 4]);
  });

  it.each([
    [[], 1],
    [[1], 1],
    [[1, 4, 8], 8],
    [[2, 64], 64],
  ])("shardsOf(%j) is %i", (h, n) => {
    expect(shardsOf(h)).toBe(n);
  });

  it("a raised history keeps growing, and shardsOf is its largest count", () => {
    fc.assert(
      fc.property(history, (h) => {
        expect(shardsOf(h)).toBe(Math.max(...h));
        expect(shardsOf(h)).toBe(h[h.length - 1]);
      }),
    );
  });
});

describe("shardOfSeq", () => {
  it.each([
    [1, 0],
    [SHARD_SEQ_SPAN, 0],
    [SHARD_SEQ_SPAN + 1, 1],
    [3 * SHARD_SEQ_SPAN + 5, 3],
    [MAX_LEDGER_SHARDS * SHARD_SEQ_SPAN, MAX_LEDGER_SHARDS - 1],
  ])("seq %i is in shard %i", (seq, shard) => {
    expect(shardOfSeq(seq)).toBe(shard);
  });

  it("names the shard that numbered the event", () => {
    const k = fc.integer({ min: 1, max: SHARD_SEQ_SPAN });
    fc.assert(fc.property(fc.nat({ max: MAX_LEDGER_SHARDS - 1 }), k, (s, n) => shardOfSeq(s * SHARD_SEQ_SPAN + n) === s));
  });
});

type Stored = { value: string; ts: number; seq: number };
const AGGREGATIONS: Aggregation[] = ["count", "sum", "average", "max", "min", "latest", "unique_count"];

/** One aggregate as an unsharded ledger builds it, event by event from a fresh row (ledger/aggregates.ts addContribution). */
function aggregateOf(shard: number, aggregation: Aggregation, events: readonly Stored[]): PartialAggregate {
  const p: PartialAggregate = { shard, aggregation, event_count: 0, sum: "0", value: null, distinct_count: 0, latest_ts: null, latest_seq: null };
  const seen = new Set<string>();
  for (const { value, ts, seq } of events) {
    p.event_count += 1;
    if (aggregation === "count") p.value = String(p.event_count);
    if (aggregation === "sum" || aggregation === "average") p.sum = new Quantity(p.sum).plus(value).toFixed();
    if (aggregation === "max" && (p.value === null || new Quantity(value).gt(p.value))) p.value = value;
    if (aggregation === "min" && (p.value === null || new Quantity(value).lt(p.value))) p.value = value;
    if (aggregation === "latest" && (p.latest_ts === null || ts > p.latest_ts || (ts === p.latest_ts && seq > p.latest_seq!))) {
      Object.assign(p, { value, latest_ts: ts, latest_seq: seq });
    }
    if (aggregation === "unique_count") {
      seen.add(value);
      p.distinct_count = seen.size;
      p.value = String(seen.size);
    }
  }
  return p;
}

/** A decimal string with up to 6 places, possibly negative, sometimes with trailing zeros ("-0.050"). */
const decimal = fc.tuple(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 0, max: 6 })).map(([n, d]) => {
  const digits = String(Math.abs(n)).padStart(d + 1, "0");
  return (n < 0 ? "-" : "") + (d === 0 ? digits : `${digits.slice(0, -d)}.${digits.slice(-d)}`);
});
const event = fc.record({
  value: decimal,
  ts: fc.integer({ min: 0, max: 20 }), // few milliseconds: many ties
  user: fc.constantFrom("u1", "u2", "u3", "u4", "u5", "u6"),
  shard: fc.nat({ max: 5 }),
});

describe("mergePartials", () => {
  it("merged shards' partials equal the aggregate of all their events, whatever the split and the order of parts", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...AGGREGATIONS),
        fc.array(event, { maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        fc.array(fc.nat(), { minLength: 6, maxLength: 6 }),
        (aggregation, raw, count, distinctTs, order) => {
          const events = distinctTs ? raw.map((e, i) => ({ ...e, ts: e.ts * 1000 + i })) : raw;
          const byShard: Stored[][] = Array.from({ length: count }, () => []);
          for (const e of events) {
            const shard = e.shard % count;
            const list = byShard[shard]!;
            const value = aggregation === "unique_count" ? e.user : e.value;
            list.push({ value, ts: e.ts, seq: shard * SHARD_SEQ_SPAN + list.length + 1 });
          }
          const parts = byShard.map((evs, shard) => aggregateOf(shard, aggregation, evs));
          parts.sort((a, b) => order[a.shard]! - order[b.shard]! || a.shard - b.shard);
          const distinct = new Set(byShard.flat().map((e) => e.value)).size;
          const merged = mergePartials(parts, distinct)!;
          const all = aggregateOf(0, aggregation, byShard.flat());

          expect(merged.aggregation).toBe(aggregation);
          expect(merged.event_count).toBe(events.length);
          expect(new Quantity(quantityOf(merged)).eq(quantityOf(all))).toBe(true);
          if (aggregation === "count") expect(quantityOf(merged)).toBe(String(events.length));
          if (aggregation === "sum" || aggregation === "average") expect(new Quantity(merged.sum).eq(all.sum)).toBe(true);
          if (aggregation === "average") expect(quantityOf(merged)).toBe(quantityOf(all));
          if (aggregation === "max" || aggregation === "min") {
            expect(merged.value === null).toBe(events.length === 0);
            if (merged.value !== null) expect(new Quantity(merged.value).eq(all.value!)).toBe(true);
          }
          if (aggregation === "unique_count") expect(merged.value).toBe(String(new Set(events.map((e) => e.user)).size));
          if (aggregation === "latest") {
            expect(merged.latest_ts).toBe(events.length === 0 ? null : Math.max(...events.map((e) => e.ts)));
            if (distinctTs && events.length > 0) expect(merged.value).toBe(events.find((e) => e.ts === merged.latest_ts)!.value);
            // Ties: the higher shard, then the higher seq; a shard's seqs lie above every lower shard's, so (ts, seq) decides.
            expect([merged.value, merged.latest_ts, merged.latest_seq]).toEqual([all.value, all.latest_ts, all.latest_seq]);
          }
        },
      ),
    );
  });

  const part = (shard: number, aggregation: Aggregation, fields: Partial<PartialAggregate>): PartialAggregate => ({
    shard, aggregation, event_count: 1, sum: "0", value: null, distinct_count: 0, latest_ts: null, latest_seq: null, ...fields,
  });

  it("merges nothing into null", () => {
    expect(mergePartials([])).toBeNull();
    expect(mergePartials([], 3)).toBeNull();
  });

  it("adds sums exactly, as decimals", () => {
    const m = mergePartials([part(0, "sum", { sum: "0.1" }), part(1, "sum", { sum: "0.2" }), part(2, "sum", { sum: "-0.0000001" })])!;
    expect(m.sum).toBe("0.2999999");
    expect(mergePartials([part(0, "average", { sum: "1", event_count: 2 }), part(3, "average", { sum: "0.5", event_count: 1 })])).toMatchObject({
      sum: "1.5",
      event_count: 3,
    });
  });

  it.each([
    ["max", "-3.5"],
    ["min", "-7"],
  ] as const)("an empty shard (no events, null value) does not move %s", (aggregation, expected) => {
    const empty = part(1, aggregation, { event_count: 0, value: null });
    const parts = [part(0, aggregation, { value: "-3.5" }), part(2, aggregation, { value: "-7" })];
    expect(mergePartials([empty, ...parts])).toMatchObject({ value: expected, event_count: 2 });
    expect(mergePartials([...parts, empty])).toMatchObject({ value: expected, event_count: 2 });
    expect(mergePartials([empty])).toMatchObject({ value: null, event_count: 0 });
  });

  it("counts a value held by two shards once, from `distinct`", () => {
    const parts = [part(0, "unique_count", { distinct_count: 2, value: "2" }), part(1, "unique_count", { distinct_count: 2, value: "2" })];
    expect(mergePartials(parts, 3)).toMatchObject({ value: "3", distinct_count: 3, event_count: 2 });
  });

  const latest = (shard: number, ts: number, seq: number, value: string) =>
    part(shard, "latest", { value, latest_ts: ts, latest_seq: shard * SHARD_SEQ_SPAN + seq });

  it.each([
    ["the newer millisecond beats a higher shard", [latest(0, 2000, 1, "a"), latest(5, 1999, 9, "b")], "a"],
    ["at the same millisecond the higher shard wins", [latest(1, 1000, 7, "a"), latest(2, 1000, 1, "b")], "b"],
    ["at the same millisecond the higher shard wins, whatever its own seq", [latest(3, 1000, 9, "a"), latest(0, 1000, 99, "b")], "a"],
    ["in one shard the higher seq wins", [latest(2, 1000, 5, "a"), latest(2, 1000, 9, "b")], "b"],
  ])("latest: %s, in either order", (_, parts, value) => {
    expect(mergePartials(parts)!.value).toBe(value);
    expect(mergePartials([...parts].reverse())!.value).toBe(value);
  });
});
