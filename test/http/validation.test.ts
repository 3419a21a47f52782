// Odd input through the real path (SPEC §19): ill-formed Unicode is a clear 400 on every route, `__proto__` and other
// Object.prototype names are ordinary property names, absurd numbers are stored but not counted, and an amount the
// payment provider cannot take is a recorded payment failure. Never a 5xx.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount, type TestAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";
import { januaryInvoice, newStripeKey, payingCustomer, paymentIntents, payWorld, runAt, stripeApi, T0 } from "../support/stripe";

const DAY = 86_400_000;
const LONE = "lone-\ud800";
const iso = (ms: number) => new Date(ms).toISOString();

async function customerOn(acct: TestAccount, prices: unknown[], meters: unknown[] = []) {
  const key = acct.test;
  for (const m of meters) {
    const res = await call("POST", "/v1/meters", { key, body: m });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
  const plan = await call("POST", "/v1/plans", { key, body: { name: "P", prices } });
  expect(plan.status, JSON.stringify(plan.body)).toBe(201);
  const customer = (await call("POST", "/v1/customers", { key, body: { name: "C", external_id: `c-${crypto.randomUUID()}` } })).body;
  const contract = await call("POST", "/v1/contracts", { key, body: { customer_id: customer.id, plan_id: plan.body.id, start_date: iso(Date.now() - DAY) } });
  expect(contract.status, JSON.stringify(contract.body)).toBe(201);
  return customer as { id: string; external_id: string };
}

async function eventCount(acct: TestAccount): Promise<number> {
  return (await call("GET", "/v1/events?limit=100", { key: acct.test })).body.data.length;
}

describe("ill-formed Unicode", () => {
  it("refuses a lone surrogate in an event's idempotency_key with a 400 naming it, every time", async () => {
    const acct = await newAccount();
    const c = await customerOn(acct, [{ type: "fixed", name: "Fee", amount: "1.00" }]);
    for (let i = 0; i < 2; i++) {
      const res = await call("POST", "/v1/events", { key: acct.test, body: { customer_id: c.id, event_name: "e", idempotency_key: LONE } });
      expectError(res, 400, "parameter_invalid", "idempotency_key");
      expect(res.body.error.message).toBe("idempotency_key must be well-formed Unicode (it contains a lone surrogate)");
    }
    // The camelCase spelling is named as written.
    const alias = await call("POST", "/v1/events", { key: acct.test, body: { customer_id: c.id, eventName: "e", idempotencyKey: LONE } });
    expectError(alias, 400, "parameter_invalid", "idempotencyKey");
    expect(await eventCount(acct)).toBe(0);
    // A surrogate pair (an emoji written as escapes) is well-formed: accepted, and its retry is a duplicate.
    const emoji = { customer_id: c.id, event_name: "e", idempotency_key: "ok-\ud83d\ude00" };
    expect((await call("POST", "/v1/events", { key: acct.test, body: emoji })).body.status).toBe("accepted");
    expect((await call("POST", "/v1/events", { key: acct.test, body: emoji })).body.status).toBe("duplicate");
  });

  it("refuses a batch holding one, lists the bad event, and stores none of it", async () => {
    const acct = await newAccount();
    const c = await customerOn(acct, [{ type: "fixed", name: "Fee", amount: "1.00" }]);
    const events = [
      { customer_id: c.id, event_name: "e", idempotency_key: "fine" },
      { customer_id: c.id, event_name: "e", idempotency_key: "k2", properties: { note: `x\udc00y` } },
      { customer_id: c.id, event_name: `e\ud800`, idempotency_key: "k3" },
      { customer_id: c.id, event_name: "e", idempotency_key: "k4", properties: { [`k\udfff`]: 1 } },
    ];
    for (let i = 0; i < 2; i++) {
      const res = await call("POST", "/v1/events/batch", { key: acct.test, body: { events } });
      expectError(res, 400, "parameter_invalid");
      expect(res.body.error.errors).toEqual([
        { index: 1, param: "properties.note", code: "parameter_invalid", message: "properties.note must be well-formed Unicode (it contains a lone surrogate)" },
        { index: 2, param: "event_name", code: "parameter_invalid", message: "event_name must be well-formed Unicode (it contains a lone surrogate)" },
        { index: 3, param: "properties", code: "parameter_invalid", message: "properties has a key that is not well-formed Unicode (it contains a lone surrogate)" },
      ]);
    }
    expect(await eventCount(acct)).toBe(0);
  });

  it("refuses one in Metronome's and Orb's ingest dialects", async () => {
    const acct = await newAccount();
    const c = await customerOn(acct, [{ type: "fixed", name: "Fee", amount: "1.00" }]);
    const metronome = await call("POST", "/v1/ingest", {
      key: acct.test,
      body: [{ customer_id: c.external_id, event_type: "e", timestamp: iso(Date.now()), transaction_id: LONE, properties: {} }],
    });
    expectError(metronome, 400, "parameter_invalid", "transaction_id");
    const orb = await call("POST", "/v1/ingest", { key: acct.test, body: { events: [{ external_customer_id: c.external_id, event_name: "e", idempotency_key: LONE }] } });
    expectError(orb, 400, "parameter_invalid", "idempotency_key");
    // A reference to a customer that is not well-formed is refused as such, not looked up.
    const ref = await call("POST", "/v1/events", { key: acct.test, body: { external_customer_id: LONE, event_name: "e" } });
    expectError(ref, 400, "parameter_invalid", "external_customer_id");
    expect(await eventCount(acct)).toBe(0);
  });

  it("refuses one in any string of the other routes' bodies, naming the field", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const cases: Array<[string, string, unknown, string]> = [
      ["POST", "/v1/customers", { name: LONE }, "name"],
      ["POST", "/v1/customers", { name: "ok", external_id: LONE }, "external_id"],
      ["POST", "/v1/customers", { name: "ok", metadata: { tier: LONE } }, "metadata.tier"],
      ["POST", "/v1/customers", { name: "ok", metadata: { [LONE]: "x" } }, "metadata"],
      ["POST", "/v1/meters", { code: "M", event_name: LONE, aggregation: "count" }, "event_name"],
      ["POST", "/v1/meters", { code: "M", event_name: "e", display_name: LONE, aggregation: "count" }, "display_name"],
      ["POST", "/v1/meters", { code: "M", event_name: "e", aggregation: "count", filters: [{ property: "p", operator: "eq", value: LONE }] }, "filters[0].value"],
      ["POST", "/v1/plans", { name: LONE, prices: [{ type: "fixed", name: "Fee", amount: "1.00" }] }, "name"],
      ["POST", "/v1/plans", { name: "ok", prices: [{ type: "fixed", name: LONE, amount: "1.00" }] }, "prices[0].name"],
      ["POST", "/v1/api_keys", { name: LONE }, "name"],
    ];
    for (const [method, path, body, param] of cases) {
      const res = await call(method, path, { key, body });
      expectError(res, 400, "parameter_invalid", param);
      expect(res.body.error.message).toMatch(/well-formed Unicode/);
    }
    expect((await call("GET", "/v1/customers", { key })).body.data).toEqual([]);
    expect((await call("GET", "/v1/meters", { key })).body.data).toEqual([]);
    // The customer's update and the account's creation go through the same check.
    const c = await call("POST", "/v1/customers", { key, body: { name: "Jane" } });
    expectError(await call("PATCH", `/v1/customers/${c.body.id}`, { key, body: { name: LONE } }), 400, "parameter_invalid", "name");
    expectError(await call("POST", "/admin/accounts", { key: "test-admin-token", body: { name: LONE } }), 400, "parameter_invalid", "name");
    expect((await call("GET", `/v1/customers/${c.body.id}`, { key })).body.name).toBe("Jane");
  });

  it("cannot get one in through a path or a query (percent-encoding carries UTF-8, which has no lone surrogates)", async () => {
    const acct = await newAccount();
    for (const path of [
      "/v1/customers/%ED%A0%80",
      "/v1/customers/%ED%A0%80/usage?meter_code=M&from=2026-01-01&to=2026-01-02",
      "/v1/events?customer_id=%ED%A0%80&event_name=%F0%9F",
      "/v1/meters/%ED%A0%80",
      "/v1/events/%ED%A0%80",
    ]) {
      const res = await call("GET", path, { key: acct.test });
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
    }
  });
});

describe("properties named like Object.prototype's", () => {
  const raw = (o: Record<string, unknown>) => JSON.stringify(o).replace('"PROTO"', '"__proto__"');

  it("keeps __proto__ and constructor, counts them, and does not see inherited names as properties", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const c = await customerOn(
      acct,
      [
        { type: "usage", meter_code: "PROTO_SUM", model: "per_unit", unit_price: "1" },
        { type: "usage", meter_code: "HAS_CTOR", model: "per_unit", unit_price: "1" },
        { type: "usage", meter_code: "BY_CTOR", model: "dimensional", dimension: "constructor", rates: { x: "1" }, default_rate: "0" },
      ],
      [
        { code: "PROTO_SUM", event_name: "p", aggregation: "sum", aggregation_property: "__proto__", group_by: ["__proto__"] },
        { code: "HAS_CTOR", event_name: "p", aggregation: "count", filters: [{ property: "constructor", operator: "exists" }] },
        { code: "BY_CTOR", event_name: "p", aggregation: "count", group_by: ["constructor"] },
      ],
    );
    const first = await call("POST", "/v1/events", {
      key,
      rawBody: raw({ customer_id: c.id, event_name: "p", idempotency_key: "a", properties: { PROTO: 5, constructor: "x", toString: "y" } }),
      headers: { "Content-Type": "application/json" },
    });
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const second = await call("POST", "/v1/events", { key, body: { customer_id: c.id, event_name: "p", idempotency_key: "b", properties: { other: 1 } } });
    expect(second.status).toBe(202);

    const stored = (await call("GET", `/v1/events/${first.body.id}`, { key })).body;
    expect(Object.entries(stored.properties)).toEqual([
      ["__proto__", 5],
      ["constructor", "x"],
      ["toString", "y"],
    ]);
    expect(stored.billing.status).toBe("billed");
    expect([...stored.billing.meters].sort()).toEqual(["BY_CTOR", "HAS_CTOR", "PROTO_SUM"]);
    const plain = (await call("GET", `/v1/events/${second.body.id}`, { key })).body;
    expect(plain.billing).toMatchObject({ status: "billed", meters: ["BY_CTOR"] });

    const invoice = (await call("GET", `/v1/customers/${c.id}/upcoming_invoice`, { key })).body;
    const lines = invoice.line_items.map((l: any) => [l.meter_code, l.quantity, l.group ? Object.entries(l.group) : null]);
    expect(lines).toEqual([
      ["PROTO_SUM", "5", null],
      ["HAS_CTOR", "1", null],
      ["BY_CTOR", "1", [["constructor", "x"]]],
      ["BY_CTOR", "1", [["constructor", null]]],
    ]);
    const usage = await call("GET", `/v1/customers/${c.id}/usage?${new URLSearchParams({ meter_code: "PROTO_SUM", group_by: "__proto__", from: iso(Date.now() - DAY), to: iso(Date.now() + 60_000) })}`, { key });
    expect(usage.status, JSON.stringify(usage.body)).toBe(200);
    expect(usage.body.data.map((w: any) => [Object.entries(w.group), w.value])).toEqual([
      [[["__proto__", "5"]], "5"],
    ]);
  });

  it("keeps __proto__ in a customer's metadata", async () => {
    const acct = await newAccount();
    const res = await call("POST", "/v1/customers", {
      key: acct.test,
      rawBody: raw({ name: "Jane", metadata: { PROTO: "a", constructor: "b" } }),
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const got = (await call("GET", `/v1/customers/${res.body.id}`, { key: acct.test })).body;
    expect(Object.entries(got.metadata)).toEqual([
      ["__proto__", "a"],
      ["constructor", "b"],
    ]);
    // A PATCH merges metadata key by key, __proto__ included.
    const other = (await call("POST", "/v1/customers", { key: acct.test, body: { name: "Joe", metadata: { a: "1" } } })).body;
    const patched = await call("PATCH", `/v1/customers/${other.id}`, {
      key: acct.test,
      rawBody: raw({ metadata: { PROTO: "p" } }),
      headers: { "Content-Type": "application/json" },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(Object.entries(patched.body.metadata)).toEqual([
      ["a", "1"],
      ["__proto__", "p"],
    ]);
  });

  it("does not let a dashboard form field named __proto__ reach Object.prototype", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    const tokens = await b.formTokens("/dashboard/customers");
    const res = await b.request("POST", "/dashboard/customers", {
      ...tokens,
      name: "Proto Co",
      "__proto__[zz_polluted]": "yes",
      "constructor[prototype][zz_polluted2]": "yes",
      "name[x]": "both a value and a container",
    });
    expect(res.status).toBeLessThan(500);
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, "zz_polluted")).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, "zz_polluted2")).toBe(false);
    expect(({} as Record<string, unknown>).zz_polluted).toBeUndefined();
  });
});

describe("absurd numbers", () => {
  it("stores a value beyond ±10^15 (or with more than 20 decimals) but does not count it", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const c = await customerOn(acct, [{ type: "usage", meter_code: "BYTES", model: "per_unit", unit_price: "1" }], [
      { code: "BYTES", event_name: "t", aggregation: "sum", aggregation_property: "bytes" },
    ]);
    const absurd = ["1e30", `1${"0".repeat(399)}`, "1e999999999", "-1e15", "0.000000000000000000001"];
    const events = [
      ...absurd.map((bytes, i) => ({ customer_id: c.id, event_name: "t", idempotency_key: `absurd-${i}`, properties: { bytes } })),
      { customer_id: c.id, event_name: "t", idempotency_key: "number", properties: { bytes: 1e30 } },
      { customer_id: c.id, event_name: "t", idempotency_key: "fine", properties: { bytes: "999999999999999.5" } },
      { customer_id: c.id, event_name: "t", idempotency_key: "neg", properties: { bytes: "-0.5" } },
    ];
    const res = await call("POST", "/v1/events/batch", { key, body: { events } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const invoice = (await call("GET", `/v1/customers/${c.id}/upcoming_invoice`, { key })).body;
    expect(invoice.line_items[0]).toMatchObject({ meter_code: "BYTES", quantity: "999999999999999", amount: "999999999999999.00" });
    const listed = (await call("GET", "/v1/events?limit=100", { key })).body.data;
    const byKey = new Map(listed.map((e: any) => [e.idempotency_key, e]));
    for (const k of [...absurd.map((_, i) => `absurd-${i}`), "number"]) {
      expect((byKey.get(k) as any).billing, k).toMatchObject({ status: "unbilled", reason: "property_missing", meters: ["BYTES"] });
    }
    expect((byKey.get("absurd-1") as any).properties.bytes).toBe(`1${"0".repeat(399)}`);
    expect((byKey.get("fine") as any).billing).toMatchObject({ status: "billed", meters: ["BYTES"] });
  });

  it("refuses prices and amounts of 10^15 or more", async () => {
    const acct = await newAccount();
    const key = acct.test;
    expect((await call("POST", "/v1/meters", { key, body: { code: "M", event_name: "e", aggregation: "count" } })).status).toBe(201);
    const bad = await call("POST", "/v1/plans", {
      key,
      body: { name: "P", prices: [{ type: "usage", meter_code: "M", model: "per_unit", unit_price: `1${"0".repeat(15)}` }] },
    });
    expectError(bad, 400, "parameter_invalid", "prices[0].unit_price");
    expect(bad.body.error.message).toMatch(/less than 1000000000000000/);
    const fee = await call("POST", "/v1/plans", { key, body: { name: "P", prices: [{ type: "fixed", name: "Fee", amount: `${"9".repeat(16)}.00` }] } });
    expectError(fee, 400, "parameter_invalid", "prices[0].amount");
    const fine = await call("POST", "/v1/plans", { key, body: { name: "P", prices: [{ type: "fixed", name: "Fee", amount: `${"9".repeat(15)}.99` }] } });
    expect(fine.status).toBe(201);
  });
});

describe("amounts the payment provider cannot take", () => {
  /** A finalized January invoice for `amount`, for a customer with a working card. */
  async function bigInvoice(amount: string, autoPay: boolean) {
    const w = await payWorld({ auto_pay: autoPay, prices: [{ type: "fixed", name: "Platform fee", amount }] });
    const c = await payingCustomer(w, "pm_card_visa");
    const run = await runAt(w, T0);
    expect(run.status, JSON.stringify(run.body)).toBeLessThan(500);
    const inv = await januaryInvoice(w, c.customer);
    expect(inv).toMatchObject({ status: "finalized", total: amount });
    return { w, ...c, inv, run };
  }

  it("the Stripe emulator refuses more than $999,999.99 as Stripe does", async () => {
    const sk = newStripeKey();
    const big = await stripeApi(sk, "POST", "/v1/payment_intents", { amount: "100000000", currency: "usd" });
    expect(big.status).toBe(400);
    expect(big.body.error).toMatchObject({ type: "invalid_request_error", code: "amount_too_large", param: "amount", message: "Amount must be no more than $999,999.99" });
    expect((await stripeApi(sk, "POST", "/v1/payment_intents", { amount: "99999999", currency: "usd" })).status).toBe(200);
  });

  // Stripe's largest USD charge is $999,999.99; $10^15 is beyond what a JS number holds in cents exactly.
  for (const amount of ["1000000.00", "999999999999999.99"]) {
    it(`answers /pay for ${amount} with 402 amount_too_large, recorded on the invoice`, async () => {
      const { w, inv, stripeId } = await bigInvoice(amount, false);
      const res = await call("POST", `/v1/invoices/${inv.id}/pay`, { key: w.key });
      expectError(res, 402, "payment_failed");
      expect(res.body.error.errors).toEqual([{ code: "amount_too_large", message: expect.stringMatching(/more than/) }]);
      const after = (await call("GET", `/v1/invoices/${inv.id}`, { key: w.key })).body;
      expect(after).toMatchObject({ status: "finalized", payment_status: "failed", payment_attempts: 1, last_payment_error: { code: "amount_too_large" } });
      expect((await paymentIntents(w.stripe.sk, stripeId!)).filter((pi) => pi.status === "succeeded")).toEqual([]);
      const attempts = await env.DB.prepare("SELECT status, failure_code FROM payment_attempts WHERE invoice_id = ?").bind(inv.id).all();
      expect(attempts.results).toEqual([{ status: "failed", failure_code: "amount_too_large" }]);

      const link = await call("POST", `/v1/invoices/${inv.id}/payment_link`, { key: w.key });
      expectError(link, 422, "amount_too_large");
    });

    it(`records auto-pay of ${amount} as a failure with amount_too_large, and gives up at once (no retry can succeed)`, async () => {
      const { w, inv, run } = await bigInvoice(amount, true);
      expect(run.body).toMatchObject({ payments_attempted: 1, payments_succeeded: 0, payments_failed: 1 });
      const failed = await januaryInvoice(w, inv.customer_id);
      expect(failed).toMatchObject({ payment_status: "failed", payment_attempts: 1, last_payment_error: { code: "amount_too_large" }, next_payment_attempt: null });
      const contract = (await call("GET", `/v1/contracts/${inv.contract_id}`, { key: w.key })).body;
      expect(contract.auto_pay).toBe(false);
      // The day a retry would have come, nothing is attempted.
      expect((await runAt(w, T0 + DAY)).body).toMatchObject({ payments_attempted: 0 });
    });
  }
});
