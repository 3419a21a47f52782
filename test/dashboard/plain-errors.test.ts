// Issue 21 item 3: form errors in plain words, every field's at once, and amounts as people type them.
import { describe, expect, it } from "vitest";
import { fieldErrors, fieldLabel, plainMessage } from "../../src/dashboard/forms";
import { parseTiers } from "../../src/dashboard/pages/plan-form";
import { ApiError } from "../../src/errors";
import { call, newAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";

describe("plain errors", () => {
  it("say what to type instead of the wire format, next to each field, all at once", () => {
    const err = new ApiError("parameter_invalid", "x", {
      errors: [
        { param: "prices[0].unit_price", code: "parameter_missing", message: "prices[0].unit_price is required" },
        { param: "prices[1].package_price", code: "parameter_invalid", message: 'prices[1].package_price: must be a non-negative decimal string such as "0.10"' },
        { param: "start_date", code: "parameter_invalid", message: "start_date: must be an RFC 3339 timestamp such as 2026-03-01T12:34:56Z" },
      ],
    });
    expect(fieldErrors(err, ["prices[0].unit_price", "prices[1].package_price", "start_date"])).toEqual({
      "prices[0].unit_price": "Unit price is required",
      "prices[1].package_price": "Type a number such as 0.10 (a currency sign like $0.01 is fine)",
      start_date: "Type a date such as 2026-03-01 (UTC), or pick one",
    });
    expect(fieldLabel("usage[2].package_size")).toBe("Package size");
    expect(plainMessage("must be a positive amount")).toBe("must be a positive amount");
  });

  it("reads tier lines as people type them: a comma is a number's separator, never a column", () => {
    expect(parseTiers("1,000 $0.09\n100, 0,10\n* 0.08 @ 5")).toEqual([
      { up_to: "1000", unit_price: "0.09" },
      { up_to: "100", unit_price: "0.10" },
      { up_to: null, unit_price: "0.08", flat_price: "5" },
    ]);
  });

  it("the plan form takes prices as people type them", async () => {
    const acct = await newAccount();
    await call("POST", "/v1/meters", { key: acct.test, body: { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "count" } });
    const b = new Browser();
    await b.signIn(acct.test);
    const created = await b.submit("/dashboard/plans", "/dashboard/plans", {
      name: "Typed",
      currency: "USD",
      billing_interval: "month",
      net_terms_days: "0",
      grace_period_hours: "1",
      fixed_amount: "$1,000",
      "usage[0].meter_code": "API",
      "usage[0].model": "per_unit",
      "usage[0].unit_price": "0,01",
    });
    expect(created.status, created.html).toBe(303);
    const plan = (await call("GET", `/v1/plans/${created.location!.split("/").pop()}`, { key: acct.test })).body;
    expect(plan.prices.map((p: any) => p.amount ?? p.unit_price)).toEqual(["1000", "0.01"]);
  });
});
