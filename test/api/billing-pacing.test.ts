// Billing-run pacing through the real run: with a customers-per-second ceiling, a run takes at least as long as the
// ceiling demands and still bills everyone; without one it does not wait.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runBillingForAccount } from "../../src/billing/run";
import type { Env } from "../../src/env";
import { accountWithDueCustomers } from "../support/billing";

describe("billing-run pacing", () => {
  it("holds a run to BILLING_RUN_MAX_CUSTOMERS_PER_SECOND and still bills every customer", async () => {
    const { caller } = await accountWithDueCustomers(6);
    const paced: Env = { ...(env as Env), BILLING_RUN_MAX_CUSTOMERS_PER_SECOND: "10" };
    const started = Date.now();
    const result = await runBillingForAccount(paced, caller, Date.now());
    // 6 customers at 10 per second cannot take less than 600 ms (a lower bound only: the machine may be slower).
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(result).toMatchObject({ customers: 6, finalized: 6, failed: 0 });
  });

  it("ignores a ceiling that is not a positive number", async () => {
    const { caller } = await accountWithDueCustomers(2);
    const result = await runBillingForAccount({ ...(env as Env), BILLING_RUN_MAX_CUSTOMERS_PER_SECOND: "fast" }, caller, Date.now());
    expect(result).toMatchObject({ customers: 2, finalized: 2, failed: 0 });
  });
});
