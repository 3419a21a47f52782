// Event ids: valid UUIDv8, carry their ledger's customer hint and sequence number, and sort by time.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { customerHintOf, customerRangeOf, eventId, sequenceOf } from "../../src/domain/event-ids";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const customer = fc.uuid({ version: 4 });
const seq = fc.integer({ min: 1, max: 2 ** 38 - 1 });
const ms = fc.integer({ min: 0, max: 2 ** 48 - 1 });

describe("event ids", () => {
  it("a known example", () => {
    const id = eventId("a1b2c3d4-e5f6-4890-abcd-ef1234567890", 1, Date.UTC(2026, 2, 1));
    expect(id).toBe("019ca6b1-dc00-8a1b-8b0f-538000000001");
    expect(customerHintOf(id)).toBe("a1b2c3d4e");
    expect(sequenceOf(id)).toBe(1);
  });

  it("are UUIDv8 that carry the customer's first 9 hex digits and the sequence number", () => {
    fc.assert(
      fc.property(customer, seq, ms, (c, n, t) => {
        const id = eventId(c, n, t);
        expect(id).toMatch(UUID);
        expect(customerHintOf(id)).toBe(c.replace("-", "").slice(0, 9));
        expect(sequenceOf(id)).toBe(n);
        const { from, to } = customerRangeOf(customerHintOf(id)!);
        expect(c >= from && c < to).toBe(true);
      }),
    );
  });

  it("differ for different sequence numbers of one ledger, even in the same millisecond", () => {
    fc.assert(fc.property(customer, seq, seq, ms, (c, a, b, t) => (a === b) === (eventId(c, a, t) === eventId(c, b, t))));
  });

  it("sort by time across milliseconds", () => {
    fc.assert(
      fc.property(customer, customer, seq, seq, ms, ms, (c1, c2, n1, n2, t1, t2) => {
        fc.pre(t1 < t2);
        expect(eventId(c1, n1, t1) < eventId(c2, n2, t2)).toBe(true);
      }),
    );
  });

  it("a customer range excludes customers with another hint", () => {
    const { from, to } = customerRangeOf("a1b2c3d4f");
    expect(["a1b2c3d4-f000-4000-8000-000000000000", "a1b2c3d4-ffff-4fff-bfff-ffffffffffff"].every((c) => c >= from && c < to)).toBe(true);
    expect(["a1b2c3d4-e fff".replace(" ", ""), "a1b2c3d5-0000-4000-8000-000000000000"].some((c) => c >= from && c < to)).toBe(false);
    expect(customerRangeOf("ffffffffa")).toEqual({ from: "ffffffff-a", to: "ffffffff-b" });
    expect(customerRangeOf("0000ffffF".toLowerCase()).to).toBe("00010000-");
  });

  it("other ids carry no hint", () => {
    for (const id of ["3f6c1d2e-9a4b-4c5d-8e7f-0a1b2c3d4e5f", "not-an-id", "019ca6ff-2400-8a1b-7133-8d4000000001"]) {
      expect(customerHintOf(id)).toBeNull();
      expect(sequenceOf(id)).toBeNull();
    }
  });

  it("refuse what cannot be encoded", () => {
    expect(() => eventId("not-a-uuid", 1, 0)).toThrow();
    expect(() => eventId("a1b2c3d4-e5f6-4890-abcd-ef1234567890", 0, 0)).toThrow();
    expect(() => eventId("a1b2c3d4-e5f6-4890-abcd-ef1234567890", 2 ** 38, 0)).toThrow();
  });
});
