// The plan form's minimum spend and invoice threshold, and the contract form's minimum spend override.
import { describe, expect, it } from "vitest";
import { call, newAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";

const FIXED = { currency: "USD", billing_interval: "month", net_terms_days: "0", grace_period_hours: "1", fixed_name: "Platform fee", fixed_amount: "50.00" };

describe("dashboard plan terms", () => {
  it("creates plans with a minimum spend and an invoice threshold, and contracts with an override", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    expect((await b.get("/dashboard/plans")).html).toContain("Minimum spend per period");

    // Amounts typed as people type money are read as the credit forms read them.
    const plan = await b.submit("/dashboard/plans", "/dashboard/plans", { ...FIXED, name: "Committed", minimum_spend: "$1,000", invoice_threshold: "500.50" });
    expect(plan.status, plan.html).toBe(303);
    const planId = plan.location!.split("/").pop()!;
    expect((await call("GET", `/v1/plans/${planId}`, { key: acct.test })).body).toMatchObject({ minimum_spend: "1000", invoice_threshold: "500.50" });
    const page = await b.get(plan.location!);
    expect(page.html).toContain('data-testid="plan-minimum-spend">$1,000.00 per period');
    expect(page.html).toContain("Invoiced mid-period when the amount due reaches $500.50");

    // A value that cannot be read is shown next to its field, and nothing is created.
    const bad = await b.submit("/dashboard/plans", "/dashboard/plans", { ...FIXED, name: "Bad", minimum_spend: "lots", invoice_threshold: "€10" });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('data-error-for="minimum_spend">Type an amount');
    expect(bad.html).toContain('data-error-for="invoice_threshold">You typed €, but the currency is USD');
    expect(bad.html).toContain('value="lots"');
    expect((await call("GET", "/v1/plans", { key: acct.test })).body.data).toHaveLength(1);
    // A plan without them shows neither.
    const plain = await b.submit("/dashboard/plans", "/dashboard/plans", { ...FIXED, name: "Plain" });
    expect(plain.status, plain.html).toBe(303);
    const plainPage = await b.get(plain.location!);
    expect(plainPage.html).not.toContain("plan-minimum-spend");
    expect(plainPage.html).not.toContain("plan-invoice-threshold");

    // Contracts: an override passes through; "0" waives; empty keeps the plan's.
    const customers = await Promise.all(["A", "B", "C"].map((n) => call("POST", "/v1/customers", { key: acct.test, body: { name: `Co ${n}` } })));
    const [a, w, p] = customers.map((r) => r.body.id as string);
    expect((await b.get("/dashboard/contracts")).html).toContain("Minimum spend override");
    const badOverride = await b.submit("/dashboard/contracts", "/dashboard/contracts", { customer_id: a!, plan_id: planId, minimum_spend: "-5" });
    expect(badOverride.status).toBe(400);
    expect(badOverride.html).toContain('data-error-for="minimum_spend">must be a positive amount');
    expect((await call("GET", `/v1/contracts?customer_id=${a}`, { key: acct.test })).body.data).toHaveLength(0);

    const k = await b.submit("/dashboard/contracts", "/dashboard/contracts", { customer_id: a!, plan_id: planId, minimum_spend: "250" });
    expect(k.status, k.html).toBe(303);
    expect((await call("GET", `/v1/contracts/${k.location!.split("/").pop()}`, { key: acct.test })).body.minimum_spend).toBe("250");
    expect((await b.get(k.location!)).html).toContain("$250.00 per period (instead of the plan&#39;s)");

    const waived = await b.submit("/dashboard/contracts", "/dashboard/contracts", { customer_id: w!, plan_id: planId, minimum_spend: "0" });
    expect(waived.status, waived.html).toBe(303);
    expect((await call("GET", `/v1/contracts/${waived.location!.split("/").pop()}`, { key: acct.test })).body.minimum_spend).toBe("0");
    expect((await b.get(waived.location!)).html).toContain("Waived");

    const planDefault = await b.submit("/dashboard/contracts", "/dashboard/contracts", { customer_id: p!, plan_id: planId, minimum_spend: "" });
    expect(planDefault.status, planDefault.html).toBe(303);
    expect((await call("GET", `/v1/contracts/${planDefault.location!.split("/").pop()}`, { key: acct.test })).body.minimum_spend).toBeNull();
    expect((await b.get(planDefault.location!)).html).not.toContain("contract-minimum-spend");
  });
});
