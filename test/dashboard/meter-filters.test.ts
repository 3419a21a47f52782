// "Create meter" with filters through the real app: the rows become the API's filters, shown in words, and billing
// follows them (an event the filters refuse is unbilled: no_matching_meter); errors land on their row.
import { describe, expect, it } from "vitest";
import { call, newAccount, type TestAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";

async function billingOf(acct: TestAccount, customerId: string, properties: Record<string, unknown>) {
  const sent = await call("POST", "/v1/events", { key: acct.test, body: { customer_id: customerId, event_name: "api_call", properties } });
  expect(sent.status, JSON.stringify(sent.body)).toBe(202);
  return (await call("GET", `/v1/events/${sent.body.id}`, { key: acct.test })).body.billing;
}

describe("dashboard: meter filters", () => {
  it("creates a meter with filters from the form, shows them in words, and bills only matching events", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    const form = await b.get("/dashboard/meters");
    expect(form.html).toContain("Filters (optional)");
    expect(form.html).toContain('name="filters[0].operator"');

    const created = await b.submit("/dashboard/meters", "/dashboard/meters", {
      code: "US_CALLS",
      event_name: "api_call",
      aggregation: "count",
      "filters[0].property": "region",
      "filters[0].operator": "in",
      "filters[0].value": "us-east, us-west",
      "filters[1].property": "internal",
      "filters[1].operator": "neq",
      "filters[1].value": "true",
      // "is present" takes no value: one typed anyway is ignored.
      "filters[2].property": "endpoint",
      "filters[2].operator": "exists",
      "filters[2].value": "ignored",
    });
    expect(created.status, created.html).toBe(303);
    const meter = (await call("GET", "/v1/meters/US_CALLS", { key: acct.test })).body;
    expect(meter.filters).toEqual([
      { property: "region", operator: "in", value: ["us-east", "us-west"] },
      { property: "internal", operator: "neq", value: true },
      { property: "endpoint", operator: "exists" },
    ]);
    const words = "region is one of “us-east”, “us-west” and internal is not true and endpoint is present";
    const page = await b.get(created.location!);
    expect(page.html).toContain(`data-testid="meter-filters">only events where ${words}`);
    expect((await b.get("/dashboard/meters")).html).toContain(words);

    const customer = await call("POST", "/v1/customers", { key: acct.test, body: { name: "Filter Co" } });
    const plan = await call("POST", "/v1/plans", {
      key: acct.test,
      body: { name: "US calls", prices: [{ type: "usage", meter_code: "US_CALLS", model: "per_unit", unit_price: "0.01" }] },
    });
    expect((await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: customer.body.id, plan_id: plan.body.id } })).status).toBe(201);
    const id = customer.body.id as string;

    expect(await billingOf(acct, id, { region: "us-east", endpoint: "/v1/x" })).toMatchObject({ status: "billed", meters: ["US_CALLS"] });
    expect(await billingOf(acct, id, { region: "ap-south", endpoint: "/v1/x" })).toMatchObject({ status: "unbilled", reason: "no_matching_meter" });
    expect(await billingOf(acct, id, { region: "us-west", endpoint: "/v1/x", internal: true })).toMatchObject({ status: "unbilled", reason: "no_matching_meter" });
    expect(await billingOf(acct, id, { region: "us-west" })).toMatchObject({ status: "unbilled", reason: "no_matching_meter" });
    // "true" typed unquoted is the yes/no value true: an internal: false event passes "is not true".
    expect(await billingOf(acct, id, { region: "us-west", endpoint: "/v1/y", internal: false })).toMatchObject({ status: "billed" });
  });

  it("reads quoted values as exact text and shows errors on the row they concern, creating nothing", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    const base = { code: "Q", event_name: "api_call", aggregation: "count" };

    const quoted = await b.submit("/dashboard/meters", "/dashboard/meters", {
      ...base,
      "filters[1].property": "plan",
      "filters[1].operator": "not_in",
      "filters[1].value": '"true", "a, b", 5',
    });
    expect(quoted.status, quoted.html).toBe(303);
    expect((await call("GET", "/v1/meters/Q", { key: acct.test })).body.filters).toEqual([{ property: "plan", operator: "not_in", value: ["true", "a, b", "5"] }]);

    const count = async () => (await call("GET", "/v1/meters", { key: acct.test })).body.data.length;
    const noProperty = await b.submit("/dashboard/meters", "/dashboard/meters", { ...base, code: "R", "filters[0].value": "us" });
    expect(noProperty.status).toBe(400);
    expect(noProperty.html).toContain('data-error-for="filters[0].property">Name the event property');
    expect(noProperty.html).toContain('value="us"');
    const noValue = await b.submit("/dashboard/meters", "/dashboard/meters", { ...base, code: "R", "filters[2].property": "region", "filters[2].operator": "eq" });
    expect(noValue.html).toContain('data-error-for="filters[2].value">Type the value to compare with');
    const several = await b.submit("/dashboard/meters", "/dashboard/meters", { ...base, code: "R", "filters[0].property": "region", "filters[0].operator": "eq", "filters[0].value": "us, eu" });
    expect(several.html).toContain('data-error-for="filters[0].value">“is” compares with one value: choose “is one of”');
    // The API's own checks land on the form row the filter came from (the second row here, the API's filters[0]).
    const long = await b.submit("/dashboard/meters", "/dashboard/meters", { ...base, code: "R", "filters[1].property": "p".repeat(201), "filters[1].value": "x" });
    expect(long.status).toBe(400);
    expect(long.html).toContain('data-error-for="filters[1].property">');
    expect(await count()).toBe(1);

    // A meter without filters says every event counts.
    const plain = await b.submit("/dashboard/meters", "/dashboard/meters", { ...base, code: "ALL" });
    expect((await b.get(plain.location!)).html).toContain('data-testid="meter-filters">none: every event with this name counts');
  });
});
