// Voiding events (SPEC §18, issue 20) through the real path: one event or a customer's range stops counting on its
// draft and stays in history; the void holds against a retry of the same payload, a corrected payload counts again;
// closed periods refuse it (all or none); a void racing an ingest of the same key; isolation.
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount } from "../support/api";
import { runBilling } from "../support/billing";

async function world() {
  const acct = await newAccount();
  const key = acct.test;
  await call("POST", "/v1/meters", { key, body: { code: "GB", event_name: "transfer", display_name: "Transfer", aggregation: "sum", aggregation_property: "gb" } });
  await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "count" } });
  const plan = await call("POST", "/v1/plans", {
    key,
    body: {
      name: "Usage",
      grace_period_hours: 0,
      prices: [
        { type: "usage", meter_code: "GB", model: "per_unit", unit_price: "1.00" },
        { type: "usage", meter_code: "API", model: "per_unit", unit_price: "0.10" },
      ],
    },
  });
  const customer = await call("POST", "/v1/customers", { key, body: { name: "Ada", external_id: `ada-${crypto.randomUUID()}` } });
  const contract = await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id, start_date: "2026-06-01T00:00:00Z" } });
  expect(contract.status).toBe(201);
  return { acct, key, customer: customer.body.id as string, contract: contract.body.id as string };
}

type World = Awaited<ReturnType<typeof world>>;

async function send(w: World, idempotency_key: string, gb: number, timestamp = "2026-06-10T00:00:00Z") {
  const res = await call("POST", "/v1/events", { key: w.key, body: { customer_id: w.customer, event_name: "transfer", idempotency_key, timestamp, properties: { gb } } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body as { id: string; status: string };
}

async function june(w: World) {
  const list = await call("GET", `/v1/invoices?customer_id=${w.customer}&limit=100`, { key: w.key });
  return list.body.data.find((i: any) => i.period_start === "2026-06-01T00:00:00Z" && i.status !== "void");
}

describe("voiding an event", () => {
  it("takes it off its draft, keeps it in history, and holds against a retry; a corrected payload counts again", async () => {
    const w = await world();
    const a = await send(w, "a", 5);
    await send(w, "b", 7);
    expect((await june(w)).line_items[0]).toMatchObject({ quantity: "12", amount: "12.00" });

    const voided = await call("POST", `/v1/events/${a.id}/void`, { key: w.key });
    expect(voided.status, JSON.stringify(voided.body)).toBe(200);
    expect(voided.body).toMatchObject({ id: a.id, billing: { status: "voided" }, history: [] });
    expect(voided.body.voided_at).toMatch(/^\d{4}-/);
    const invoice = await june(w);
    expect(invoice.line_items[0]).toMatchObject({ quantity: "7", amount: "7.00" });
    expect(voided.body.billing.invoice_id).toBe(invoice.id);
    // Voiding again changes nothing and answers the same.
    const again = await call("POST", `/v1/events/${a.id}/void`, { key: w.key });
    expect(again.body.voided_at).toBe(voided.body.voided_at);

    // The same payload again is a duplicate: the void holds.
    expect((await send(w, "a", 5)).status).toBe("duplicate");
    expect((await june(w)).line_items[0].quantity).toBe("7");
    // A corrected payload is a replaced version that counts; the voided version stays in the event's history.
    expect((await send(w, "a", 6)).status).toBe("replaced");
    expect((await june(w)).line_items[0].quantity).toBe("13");
    const event = await call("GET", `/v1/events/${a.id}`, { key: w.key });
    expect(event.body).toMatchObject({ version: 2, voided_at: null, billing: { status: "billed" }, properties: { gb: 6 } });
    expect(event.body.history).toEqual([expect.objectContaining({ version: 1, properties: { gb: 5 }, voided_at: voided.body.voided_at })]);
    // Listed events show the void too.
    await call("POST", `/v1/events/${a.id}/void`, { key: w.key });
    const listed = await call("GET", `/v1/events?customer_id=${w.customer}`, { key: w.key });
    expect(listed.body.data.find((e: any) => e.id === a.id).billing.status).toBe("voided");
  });

  it("voids a customer's range, of one event name if given, and answers the count", async () => {
    const w = await world();
    const other = await world();
    for (const [k, ts] of [["early", "2026-06-02T00:00:00Z"], ["mid1", "2026-06-10T00:00:00Z"], ["mid2", "2026-06-11T00:00:00Z"], ["late", "2026-06-20T00:00:00Z"]] as const) {
      await send(w, k, 1, ts);
    }
    await call("POST", "/v1/events", { key: w.key, body: { customer_id: w.customer, event_name: "api_call", idempotency_key: "call", timestamp: "2026-06-10T12:00:00Z" } });
    await send(other, "mid1", 1, "2026-06-10T00:00:00Z");
    const body = { customer_id: w.customer, from: "2026-06-10T00:00:00Z", to: "2026-06-20T00:00:00Z", event_name: "transfer" };
    const res = await call("POST", "/v1/events/void", { key: w.key, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ voided: 2 });
    const invoice = await june(w);
    expect(invoice.line_items.map((l: any) => [l.name, l.quantity])).toEqual([
      ["Transfer", "2"],
      ["API calls", "1"],
    ]);
    // Already voided events are not counted again; the other customer's are untouched.
    expect((await call("POST", "/v1/events/void", { key: w.key, body })).body).toEqual({ voided: 0 });
    expect((await june(other)).line_items[0].quantity).toBe("1");
    // By external_id, without a name: the API call goes too.
    const external = (await call("GET", `/v1/customers/${w.customer}`, { key: w.key })).body.external_id;
    const all = await call("POST", "/v1/events/void", { key: w.key, body: { customer_id: external, from: "2026-06-01T00:00:00Z", to: "2026-07-01T00:00:00Z" } });
    expect(all.body).toEqual({ voided: 3 });
    expect((await june(w)).total).toBe("0.00");
  });

  it("refuses events of a closed period with 409 invoice_finalized, all or none, and bad input with the param", async () => {
    const w = await world();
    const mayEvent = await send(w, "june", 4, "2026-06-10T00:00:00Z");
    await runBilling(w.key, { as_of: "2026-07-01T00:00:00Z" });
    await send(w, "july", 3, "2026-07-05T00:00:00Z");
    expectError(await call("POST", `/v1/events/${mayEvent.id}/void`, { key: w.key }), 409, "invoice_finalized");
    const range = await call("POST", "/v1/events/void", { key: w.key, body: { customer_id: w.customer, from: "2026-06-01T00:00:00Z", to: "2026-08-01T00:00:00Z" } });
    expectError(range, 409, "invoice_finalized");
    const july = (await call("GET", `/v1/invoices?customer_id=${w.customer}&limit=100`, { key: w.key })).body.data.find((i: any) => i.period_start === "2026-07-01T00:00:00Z");
    expect(july.line_items[0].quantity).toBe("3");

    const cases: Array<[Record<string, unknown>, number, string, string]> = [
      [{ customer_id: w.customer, from: "2026-07-02T00:00:00Z", to: "2026-07-01T00:00:00Z" }, 400, "parameter_invalid", "to"],
      [{ customer_id: w.customer, from: "yesterday", to: "2026-07-01T00:00:00Z" }, 400, "parameter_invalid", "from"],
      [{ customer_id: w.customer, to: "2026-07-01T00:00:00Z" }, 400, "parameter_missing", "from"],
      [{ customer_id: w.customer, from: "2026-07-01T00:00:00Z", to: "2026-07-02T00:00:00Z", name: "x" }, 400, "parameter_unknown", "name"],
      [{ customer_id: "nobody", from: "2026-07-01T00:00:00Z", to: "2026-07-02T00:00:00Z" }, 404, "customer_not_found", "customer_id"],
    ];
    for (const [body, status, code, param] of cases) expectError(await call("POST", "/v1/events/void", { key: w.key, body }), status, code, param);
    expectError(await call("POST", "/v1/events/nope/void", { key: w.key }), 404, "event_not_found");
  });

  it("is isolated by account and mode", async () => {
    const w = await world();
    const other = await world();
    const e = await send(w, "mine", 2);
    expectError(await call("POST", `/v1/events/${e.id}/void`, { key: other.key }), 404, "event_not_found");
    expectError(await call("POST", `/v1/events/${e.id}/void`, { key: w.acct.live }), 404, "event_not_found");
    const range = { customer_id: w.customer, from: "2026-06-01T00:00:00Z", to: "2026-07-01T00:00:00Z" };
    expectError(await call("POST", "/v1/events/void", { key: other.key, body: range }), 404, "customer_not_found");
    expectError(await call("POST", "/v1/events/void", { key: w.acct.live, body: range }), 404, "customer_not_found");
    expect((await june(w)).line_items[0].quantity).toBe("2");
  });

  it("a void racing an ingest of the same key ends consistent: the invoice counts the event exactly when it is not voided", async () => {
    for (let round = 0; round < 4; round++) {
      const w = await world();
      const e = await send(w, "k", 5);
      const [voided, resent] = await Promise.all([
        call("POST", `/v1/events/${e.id}/void`, { key: w.key }),
        call("POST", "/v1/events", { key: w.key, body: { customer_id: w.customer, event_name: "transfer", idempotency_key: "k", timestamp: "2026-06-10T00:00:00Z", properties: { gb: 9 } } }),
      ]);
      expect(voided.status).toBe(200);
      expect(resent.body.status).toBe("replaced");
      const now = (await call("GET", `/v1/events/${e.id}`, { key: w.key })).body;
      const quantity = (await june(w)).line_items[0].quantity;
      // Either the void came first (the corrected payload counts) or last (nothing counts).
      if (now.billing.status === "voided") expect(quantity).toBe("0");
      else expect([now.billing.status, quantity]).toEqual(["billed", "9"]);
    }
  });
});
