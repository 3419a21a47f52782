// The billing run's second attempt: a customer whose ledger call fails is tried again once within the same run, and
// only a customer that fails both attempts is counted as failed and left due for the next run. The failures come
// from a wrapper around the real LEDGER binding; every call that gets through reaches the real ledgers and D1. The
// run's pages are walked in-process (runInProcess), as the coordinator's alarms walk them, so the wrapper applies.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BILLING_ATTEMPTS } from "../../src/billing/run";
import type { Env } from "../../src/env";
import { call } from "../support/api";
import { accountWithDueCustomers, runInProcess } from "../support/billing";

/** The run's totals once over, walked in-process with `runEnv`. */
async function runWith(runEnv: Env, caller: { accountId: string; mode: "test" }, asOf: number) {
  return (await runInProcess(runEnv, { accountId: caller.accountId, mode: caller.mode }, asOf)).at(-1)!.run;
}

/**
 * The real LEDGER binding, except that runBilling throws for a customer while `failures` still holds attempts for it.
 * `attempts` counts every runBilling call per customer.
 */
function flakyEnv(failures: Map<string, number>, attempts: Map<string, number>): Env {
  const real = (env as Env).LEDGER;
  const LEDGER = {
    idFromName: (name: string) => real.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = real.get(id);
      return new Proxy(stub, {
        get(target, prop) {
          if (prop !== "runBilling") return Reflect.get(target, prop);
          return async (...args: Parameters<typeof stub.runBilling>) => {
            const customer = args[0].customerId;
            attempts.set(customer, (attempts.get(customer) ?? 0) + 1);
            const left = failures.get(customer) ?? 0;
            if (left > 0) {
              failures.set(customer, left - 1);
              throw new Error("ledger unavailable (test)");
            }
            return target.runBilling(...args);
          };
        },
      });
    },
  };
  return { ...(env as Env), LEDGER: LEDGER as unknown as Env["LEDGER"] };
}

async function statuses(key: string, customer: string): Promise<string[]> {
  const res = await call("GET", `/v1/invoices?customer_id=${customer}&limit=10`, { key });
  expect(res.status).toBe(200);
  return res.body.data.map((i: { status: string }) => i.status).sort();
}

describe("billing run retries", () => {
  it("tries a customer whose ledger failed once again in the same run, and bills it", async () => {
    const { caller, key, customers } = await accountWithDueCustomers(3);
    const [flaky, ...steady] = customers as [string, ...string[]];
    const attempts = new Map<string, number>();
    const result = await runWith(flakyEnv(new Map([[flaky, 1]]), attempts), caller, Date.now());
    expect(result).toMatchObject({ outcome: "completed", customers: 3, finalized: 3, failed: 0 });
    expect(attempts.get(flaky)).toBe(2);
    for (const c of steady) expect(attempts.get(c)).toBe(1);
    for (const c of customers) expect(await statuses(key, c)).toEqual(["draft", "finalized"]);
  });

  it(`counts a customer that fails all ${BILLING_ATTEMPTS} attempts as failed, leaves it due, and the next run bills it`, async () => {
    const { caller, key, customers } = await accountWithDueCustomers(2);
    const [broken, steady] = customers as [string, string];
    const attempts = new Map<string, number>();
    const asOf = Date.now();
    const first = await runWith(flakyEnv(new Map([[broken, 99]]), attempts), caller, asOf);
    expect(first).toMatchObject({ customers: 2, finalized: 1, failed: 1 });
    expect(attempts.get(broken)).toBe(BILLING_ATTEMPTS);
    expect(await statuses(key, broken)).toEqual(["draft"]);
    expect(await statuses(key, steady)).toEqual(["draft", "finalized"]);

    const second = await runWith(env as Env, caller, asOf);
    expect(second).toMatchObject({ customers: 1, finalized: 1, failed: 0 });
    expect(await statuses(key, broken)).toEqual(["draft", "finalized"]);
  });
});
