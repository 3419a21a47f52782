// Issue 21 item 4: "Create contract" on a plan's page opens the contracts page with that plan chosen in the form, not
// a list filtered to the plan (which said "No contracts." while the customer's other contracts existed).
import { describe, expect, it } from "vitest";
import { call, newAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";

describe("create contract from a plan", () => {
  it("lists every contract and preselects the plan; the plan filter says it filters and links back to all", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const plan = async (name: string) =>
      (await call("POST", "/v1/plans", { key, body: { name, prices: [{ type: "fixed", name: "Fee", amount: "5.00" }] } })).body.id as string;
    const [starter, growth] = [await plan("Starter"), await plan("Growth")];
    const customer = (await call("POST", "/v1/customers", { key, body: { name: "Grace Hopper" } })).body.id;
    expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer, plan_id: growth } })).status).toBe(201);

    const b = new Browser();
    await b.signIn(key);
    const planPage = await b.get(`/dashboard/plans/${starter}`);
    const href = /href="([^"]+)" data-testid="create-contract"/.exec(planPage.html)?.[1]?.replace(/&amp;/g, "&");
    expect(href).toBeDefined();
    const page = await b.get(href!);
    expect(page.status).toBe(200);
    expect(page.html).toContain("Grace Hopper");
    expect(page.html).not.toContain("No contracts.");
    expect(page.html).toMatch(new RegExp(`<option value="${starter}" selected[^>]*>`));
    expect(page.html).not.toContain('data-testid="plan-filter"');

    const filtered = await b.get(`/dashboard/contracts?plan_id=${starter}`);
    expect(filtered.html).toContain('data-testid="plan-filter"');
    expect(filtered.html).toContain('href="/dashboard/contracts">Show all contracts');
  });
});
