// Billing-run pacing through the real run's pages: with a customers-per-second ceiling, the coordinator schedules the
// page after a page of customers no sooner than the ceiling allows and still bills everyone; without one it does not
// wait. The pages are walked in-process (runInProcess) with the setting, each page's own time measured.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { accountWithDueCustomers, runInProcess } from "../support/billing";

describe("billing-run pacing", () => {
  it("holds a run to BILLING_RUN_MAX_CUSTOMERS_PER_SECOND and still bills every customer", async () => {
    const { caller } = await accountWithDueCustomers(6);
    const paced: Env = { ...(env as Env), BILLING_RUN_MAX_CUSTOMERS_PER_SECOND: "10" };
    const steps = await runInProcess(paced, caller, Date.now());
    // The page that billed the 6 customers, and how long after it started the next page is due: at 10 per second,
    // no sooner than 600 ms (its own time plus the wait the coordinator sets its next alarm to).
    const billed = steps.find((s) => s.run.customers === 6)!;
    expect(billed.elapsedMs + billed.nextInMs!).toBeGreaterThanOrEqual(600);
    expect(steps.at(-1)!.run).toMatchObject({ outcome: "completed", customers: 6, finalized: 6, failed: 0 });
  });

  it("ignores a ceiling that is not a positive number", async () => {
    const { caller } = await accountWithDueCustomers(2);
    const steps = await runInProcess({ ...(env as Env), BILLING_RUN_MAX_CUSTOMERS_PER_SECOND: "fast" }, caller, Date.now());
    expect(steps.slice(0, -1).every((s) => s.nextInMs === 0)).toBe(true);
    expect(steps.at(-1)!.run).toMatchObject({ outcome: "completed", customers: 2, finalized: 2, failed: 0 });
  });
});
