// Regenerating a void invoice (SPEC §18, issue 20) through the real path: a new draft for the same contract and period
// priced from its events as they are now (amendments, voids, late events), open to corrections until the billing run
// finalizes it with a new number; a property against pricing the corrected events from scratch; races; isolation.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount } from "../support/api";
import { runBilling } from "../support/billing";

async function world(grace = 0) {
  const acct = await newAccount();
  const key = acct.test;
  await call("POST", "/v1/meters", { key, body: { code: "GB", event_name: "transfer", display_name: "Transfer", aggregation: "sum", aggregation_property: "gb" } });
  await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "count" } });
  const plan = await call("POST", "/v1/plans", {
    key,
    body: {
      name: "Usage",
      grace_period_hours: grace,
      prices: [
        { type: "fixed", name: "Base", amount: "10.00" },
        {
          type: "usage",
          meter_code: "GB",
          model: "graduated",
          tiers: [
            { up_to: "10", unit_price: "1.00" },
            { up_to: null, unit_price: "0.50" },
          ],
        },
        { type: "usage", meter_code: "API", model: "per_unit", unit_price: "0.10", included_units: "2" },
      ],
    },
  });
  expect(plan.status).toBe(201);
  const customer = await call("POST", "/v1/customers", { key, body: { name: "Ada" } });
  const contract = await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id, start_date: "2026-06-01T00:00:00Z" } });
  expect(contract.status).toBe(201);
  return { acct, key, plan: plan.body.id as string, customer: customer.body.id as string, contract: contract.body.id as string };
}

type World = Awaited<ReturnType<typeof world>>;

async function transfer(w: World, idempotency_key: string, gb: number, timestamp = "2026-06-10T00:00:00Z") {
  const res = await call("POST", "/v1/events", { key: w.key, body: { customer_id: w.customer, event_name: "transfer", idempotency_key, timestamp, properties: { gb } } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body as { id: string; status: string };
}

async function juneInvoices(w: World): Promise<any[]> {
  const list = await call("GET", `/v1/invoices?customer_id=${w.customer}&limit=100`, { key: w.key });
  return list.body.data.filter((i: any) => i.period_start === "2026-06-01T00:00:00Z");
}

/** June finalized by the billing run, then voided: the state a regeneration starts from. */
async function voidedJune(w: World) {
  await runBilling(w.key, { as_of: "2026-07-01T00:00:00Z" });
  const [june] = await juneInvoices(w);
  expect(june.status).toBe("finalized");
  const voided = await call("POST", `/v1/invoices/${june.id}/void`, { key: w.key });
  expect(voided.body.status).toBe("void");
  return voided.body;
}

describe("regenerate", () => {
  it("opens a new draft for the period priced from its events as they are now, open to corrections until finalized", async () => {
    const w = await world();
    const first = await transfer(w, "a", 4);
    await transfer(w, "b", 3);
    const june = await voidedJune(w);
    expect(june.line_items.map((l: any) => [l.name, l.amount])).toEqual([
      ["Base", "10.00"],
      ["Transfer", "7.00"],
      ["API calls", "0.00"],
    ]);
    // While the period is closed: an amendment and a late event are stored, not billed; a void is refused.
    expect((await transfer(w, "a", 12)).status).toBe("replaced");
    await transfer(w, "late", 2, "2026-06-30T23:59:59Z");
    expectError(await call("POST", `/v1/events/${first.id}/void`, { key: w.key }), 409, "invoice_finalized");

    const regenerated = await call("POST", `/v1/invoices/${june.id}/regenerate`, { key: w.key });
    expect(regenerated.status, JSON.stringify(regenerated.body)).toBe(201);
    const draft = regenerated.body;
    expect(draft).toMatchObject({ status: "draft", contract_id: w.contract, regenerated_from: june.id, number: null, period_end: "2026-07-01T00:00:00Z" });
    expect(draft.amount_credited).toBe("0.00");
    // 12 + 3 + 2 = 17 GB: 10 at $1.00 + 7 at $0.50.
    expect(draft.line_items.map((l: any) => [l.name, l.quantity, l.amount])).toEqual([
      ["Base", "1", "10.00"],
      ["Transfer", "17", "13.50"],
      ["API calls", "0", "0.00"],
    ]);
    const voidNow = (await call("GET", `/v1/invoices/${june.id}`, { key: w.key })).body;
    expect(voidNow).toMatchObject({ status: "void", regenerated_by: draft.id });
    expect(voidNow.voided_at).toMatch(/^2026|^20/);

    // The period accepts voids and events until the new draft is finalized.
    const voided = await call("POST", `/v1/events/${first.id}/void`, { key: w.key });
    expect(voided.body.billing).toMatchObject({ status: "voided", invoice_id: draft.id });
    await transfer(w, "later", 1, "2026-06-15T00:00:00Z");
    const now = (await call("GET", `/v1/invoices/${draft.id}`, { key: w.key })).body;
    expect(now.line_items[1]).toMatchObject({ quantity: "6", amount: "6.00" });

    // The billing run finalizes it with a new number; the void invoice keeps its own.
    await runBilling(w.key);
    const final = (await call("GET", `/v1/invoices/${draft.id}`, { key: w.key })).body;
    expect(final.status).toBe("finalized");
    expect(final.number).toBeGreaterThan(june.number);
    expect(final.total).toBe("16.00");
    expect((await juneInvoices(w)).map((i) => i.status).sort()).toEqual(["finalized", "void"]);
  });

  it("refuses what cannot be regenerated", async () => {
    const w = await world();
    await transfer(w, "a", 1);
    const [draft] = await juneInvoices(w);
    expectError(await call("POST", `/v1/invoices/${draft.id}/regenerate`, { key: w.key }), 409, "invoice_not_void");
    await runBilling(w.key, { as_of: "2026-07-01T00:00:00Z" });
    expectError(await call("POST", `/v1/invoices/${draft.id}/regenerate`, { key: w.key }), 409, "invoice_not_void");
    await call("POST", `/v1/invoices/${draft.id}/void`, { key: w.key });
    const once = await call("POST", `/v1/invoices/${draft.id}/regenerate`, { key: w.key });
    expect(once.status).toBe(201);
    expectError(await call("POST", `/v1/invoices/${draft.id}/regenerate`, { key: w.key }), 409, "invoice_already_regenerated");
    expectError(await call("POST", "/v1/invoices/nope/regenerate", { key: w.key }), 404, "invoice_not_found");
    // Voiding the regenerated draft and regenerating again works: each void invoice stays in history.
    await call("POST", `/v1/invoices/${once.body.id}/void`, { key: w.key });
    const twice = await call("POST", `/v1/invoices/${once.body.id}/regenerate`, { key: w.key });
    expect(twice.status).toBe(201);
    expect(twice.body.line_items[1].quantity).toBe("1");
    expect((await juneInvoices(w)).map((i) => i.status).sort()).toEqual(["draft", "void", "void"]);
  });

  it("is isolated by account and mode", async () => {
    const w = await world();
    const other = await world();
    await transfer(w, "a", 1);
    const june = await voidedJune(w);
    expectError(await call("POST", `/v1/invoices/${june.id}/regenerate`, { key: other.key }), 404, "invoice_not_found");
    expectError(await call("POST", `/v1/invoices/${june.id}/regenerate`, { key: w.acct.live }), 404, "invoice_not_found");
    expect((await juneInvoices(w)).map((i) => i.status)).toEqual(["void"]);
  });

  it("racing the billing run, ends with exactly one live invoice for the period, numbered once", async () => {
    for (let round = 0; round < 3; round++) {
      const w = await world();
      await transfer(w, "a", 3);
      const june = await voidedJune(w);
      const [regenerated] = await Promise.all([call("POST", `/v1/invoices/${june.id}/regenerate`, { key: w.key }), runBilling(w.key)]);
      expect(regenerated.status).toBe(201);
      await runBilling(w.key);
      const live = (await juneInvoices(w)).filter((i) => i.status !== "void");
      expect(live).toHaveLength(1);
      expect(live[0]).toMatchObject({ status: "finalized", regenerated_from: june.id, total: "13.00" });
      expect(live[0].number).not.toBe(june.number);
    }
  });

  it("equals pricing the period's corrected events from scratch (property)", async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("send" as const), k: fc.integer({ min: 0, max: 5 }), gb: fc.integer({ min: 0, max: 9 }), late: fc.boolean() }),
      fc.record({ kind: fc.constant("call" as const), k: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant("void" as const), k: fc.integer({ min: 0, max: 5 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 10 }), fc.array(op, { maxLength: 6 }), async (before, after) => {
        const w = await world();
        // The events that count in the end, by key: what a from-scratch pricing of the period would see.
        const counting = new Map<string, { gb?: number }>();
        const ids = new Map<string, string>();
        let closed = false;
        const apply = async (o: fc.Arbitrary<unknown> extends never ? never : any) => {
          if (o.kind === "void") {
            const key = `t${o.k}`;
            const id = ids.get(key);
            if (!id) return;
            const res = await call("POST", `/v1/events/${id}/void`, { key: w.key });
            expect(res.status === 200 || (closed && res.status === 409)).toBe(true);
            if (res.status === 200) counting.delete(key);
            return;
          }
          const key = o.kind === "send" ? `t${o.k}` : `c${o.k}`;
          const body = o.kind === "send" ? { event_name: "transfer", properties: { gb: o.gb } } : { event_name: "api_call", properties: {} };
          const ts = o.kind === "send" && o.late ? "2026-06-30T23:00:00Z" : "2026-06-10T00:00:00Z";
          const res = await call("POST", "/v1/events", { key: w.key, body: { customer_id: w.customer, idempotency_key: key, timestamp: ts, ...body } });
          expect(res.status).toBe(202);
          ids.set(key, res.body.id);
          // A duplicate of a voided version stays voided; anything else counts as its latest version.
          if (res.body.status !== "duplicate") counting.set(key, o.kind === "send" ? { gb: o.gb } : {});
        };
        for (const o of before) await apply(o);
        const june = await voidedJune(w);
        closed = true;
        for (const o of after) await apply(o);
        const regenerated = await call("POST", `/v1/invoices/${june.id}/regenerate`, { key: w.key });
        expect(regenerated.status).toBe(201);
        const gb = [...counting.entries()].filter(([k]) => k.startsWith("t")).reduce((t, [, v]) => t + (v.gb ?? 0), 0);
        const calls = [...counting.keys()].filter((k) => k.startsWith("c")).length;
        const scratch = (await call("POST", `/v1/plans/${w.plan}/preview`, { key: w.key, body: { quantities: { GB: String(gb), API: String(calls) } } })).body;
        expect(regenerated.body.line_items.map((l: any) => [l.name, l.quantity, l.amount])).toEqual(
          scratch.line_items.map((l: any) => [l.name, l.quantity, l.amount]),
        );
        expect(regenerated.body.total).toBe(scratch.total);
      }),
      { numRuns: 10 },
    );
  });
});
