// Issue 21 item 6: the events list tells events of the same minute apart (times to the second) and shows each one's
// idempotency key, the handle a developer searches their own logs by.
import { describe, expect, it } from "vitest";
import { call, newAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";

describe("events list", () => {
  it("shows times to the second and the idempotency key", async () => {
    const acct = await newAccount();
    const customer = (await call("POST", "/v1/customers", { key: acct.test, body: { name: "Lin" } })).body.id;
    for (const [key, ts] of [["req-7f3a", "2026-06-10T12:34:05Z"], ["req-7f3b", "2026-06-10T12:34:56.250Z"]]) {
      const res = await call("POST", "/v1/events", { key: acct.test, body: { customer_id: customer, event_name: "api_call", idempotency_key: key, timestamp: ts } });
      expect(res.status).toBe(202);
    }
    const b = new Browser();
    await b.signIn(acct.test);
    const page = await b.get(`/dashboard/events?customer_id=${customer}`);
    expect(page.html).toContain("2026-06-10 12:34:05 UTC");
    expect(page.html).toContain("2026-06-10 12:34:56.250 UTC");
    expect(page.html).toContain('data-testid="idempotency-key">req-7f3a<');
    expect(page.html).toContain('data-testid="idempotency-key">req-7f3b<');
  });
});
