// The billing run end to end: finalization after period + grace, numbering, roll-over, contract ends, manual actions.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { finishBillingRun, runBilling, runCronBillingRun, runInProcess, startBillingRun } from "../support/billing";
import { call, expectError, newAccount, type TestAccount } from "../support/api";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

interface World {
  acct: TestAccount;
  key: string;
  planId: string;
}

/** Monk's Pro plan: $50 per period + $0.08 per call; net terms and interval vary per test. */
async function world(plan: Record<string, unknown> = {}): Promise<World> {
  const acct = await newAccount();
  const key = acct.test;
  expect((await call("POST", "/v1/meters", { key, body: { code: "API_CALL", event_name: "call_count", aggregation: "count" } })).status).toBe(201);
  const res = await call("POST", "/v1/plans", {
    key,
    body: {
      name: "Pro",
      net_terms_days: 30,
      prices: [
        { type: "fixed", name: "Platform fee", amount: "50.00" },
        { type: "usage", meter_code: "API_CALL", model: "per_unit", unit_price: "0.08" },
      ],
      ...plan,
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { acct, key, planId: res.body.id };
}

async function subscribe(w: World, body: Record<string, unknown>) {
  const customer = (await call("POST", "/v1/customers", { key: w.key, body: { name: "Jane" } })).body.id as string;
  const contract = await call("POST", "/v1/contracts", { key: w.key, body: { customer_id: customer, plan_id: w.planId, ...body } });
  expect(contract.status, JSON.stringify(contract.body)).toBe(201);
  return { customer, contract: contract.body };
}

const send = (w: World, customer: string, ts: number, n = 1) =>
  call("POST", "/v1/events/batch", {
    key: w.key,
    body: { events: Array.from({ length: n }, () => ({ customer_id: customer, event_name: "call_count", timestamp: iso(ts) })) },
  });

/** A billing run started over the API and driven to its end: the completed run (GET /v1/billing_runs/:id). */
const run = (w: World, asOf?: number) => runBilling(w.key, asOf ? { as_of: iso(asOf) } : {});

async function invoicesOf(w: World, customer: string) {
  const res = await call("GET", `/v1/invoices?customer_id=${customer}&limit=100`, { key: w.key });
  expect(res.status).toBe(200);
  return [...res.body.data].sort((a: any, b: any) => Date.parse(a.period_start) - Date.parse(b.period_start));
}

describe("billing run", () => {
  it("runs the seeds' full billing cycle for a contract backdated 40 days, and a second run changes nothing", async () => {
    const w = await world();
    const start = Date.now() - 40 * DAY;
    const { customer, contract } = await subscribe(w, { start_date: iso(start) });
    const firstEnd = Date.parse(contract.current_period_end);
    for (const day of [1, 10, 20]) expect((await send(w, customer, start + day * DAY, 5)).status).toBe(202);
    const later = await send(w, customer, Date.now() - HOUR, 2);
    expect(later.status).toBe(202);

    const first = await run(w);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ object: "billing_run", status: "completed", customers: 1, invoices_finalized: 1, failed: 0 });

    const [closed, open, ...rest] = await invoicesOf(w, customer);
    expect(rest).toEqual([]);
    expect(closed).toMatchObject({
      status: "finalized",
      number: 1,
      period_start: iso(start),
      period_end: iso(firstEnd),
      invoice_date: iso(firstEnd),
      due_date: iso(firstEnd + 30 * DAY),
      total: "51.20", // $50 + 15 calls × $0.08
    });
    expect(open).toMatchObject({ status: "draft", number: null, period_start: iso(firstEnd), total: "50.16" });
    expect((await call("GET", `/v1/contracts/${contract.id}`, { key: w.key })).body.current_period_start).toBe(iso(firstEnd));

    // Finalized amounts are copied to D1 as the immutable record.
    const record = await env.DB.prepare("SELECT number, total, status, line_items FROM invoices WHERE id = ?").bind(closed.id).first<any>();
    expect(record).toMatchObject({ number: 1, total: "51.20", status: "finalized" });
    expect(JSON.parse(record.line_items)).toEqual(closed.line_items);

    // An event for the closed period is stored and explained, not billed.
    const late = await call("POST", "/v1/events", { key: w.key, body: { customer_id: customer, event_name: "call_count", timestamp: iso(start + 2 * DAY) } });
    expect((await call("GET", `/v1/events/${late.body.id}`, { key: w.key })).body.billing).toMatchObject({ status: "unbilled", reason: "outside_open_period", invoice_id: closed.id });

    const second = await run(w);
    expect(second.body).toMatchObject({ customers: 0, invoices_finalized: 0, drafts_opened: 0 });
    expect(await invoicesOf(w, customer)).toEqual([closed, open]);
  });

  it("rolls over months of different lengths from Jan 31, numbering without gaps", async () => {
    const w = await world({ net_terms_days: 0 });
    const { customer } = await subscribe(w, { start_date: "2026-01-31T00:00:00Z" });
    const asOf = Date.parse("2026-11-05T00:00:00Z");
    const res = await run(w, asOf);
    expect(res.body).toMatchObject({ invoices_finalized: 9, failed: 0 });
    const invoices = await invoicesOf(w, customer);
    expect(invoices.map((i: any) => [i.period_end.slice(0, 10), i.status, i.number])).toEqual([
      ["2026-02-28", "finalized", 1],
      ["2026-03-31", "finalized", 2],
      ["2026-04-30", "finalized", 3],
      ["2026-05-31", "finalized", 4],
      ["2026-06-30", "finalized", 5],
      ["2026-07-31", "finalized", 6],
      ["2026-08-31", "finalized", 7],
      ["2026-09-30", "finalized", 8],
      ["2026-10-31", "finalized", 9],
      ["2026-11-30", "draft", null],
    ]);
    expect(invoices.every((i: any) => i.total === "50.00")).toBe(true);
    // The due date is the invoice date plus net 0.
    expect(invoices[0].due_date).toBe("2026-02-28T00:00:00Z");
  });

  it("handles a yearly plan from Feb 29", async () => {
    const w = await world({ billing_interval: "year" });
    const { customer } = await subscribe(w, { start_date: "2024-02-29T00:00:00Z" });
    await run(w, Date.parse("2026-03-01T12:00:00Z"));
    const invoices = await invoicesOf(w, customer);
    expect(invoices.map((i: any) => [i.period_start.slice(0, 10), i.period_end.slice(0, 10), i.status])).toEqual([
      ["2024-02-29", "2025-02-28", "finalized"],
      ["2025-02-28", "2026-02-28", "finalized"],
      ["2026-02-28", "2027-02-28", "draft"],
    ]);
  });

  it("ends a contract with an end_date mid-period, prorating the fixed fee of the cut period", async () => {
    const w = await world();
    const { customer, contract } = await subscribe(w, { start_date: "2026-09-01T00:00:00Z", end_date: "2026-10-15T00:00:00Z" });
    const res = await run(w, Date.parse("2026-11-01T00:00:00Z"));
    expect(res.body.invoices_finalized).toBe(2);
    const invoices = await invoicesOf(w, customer);
    expect(invoices.map((i: any) => [i.period_start.slice(0, 10), i.period_end.slice(0, 10), i.status, i.total])).toEqual([
      ["2026-09-01", "2026-10-01", "finalized", "50.00"],
      // 14 of October's 31 days: 50 × 14/31 = 22.580645… → 22.58
      ["2026-10-01", "2026-10-15", "finalized", "22.58"],
    ]);
    expect((await call("GET", `/v1/contracts/${contract.id}`, { key: w.key })).body.status).toBe("ended");
    const row = await env.DB.prepare("SELECT status FROM contracts WHERE id = ?").bind(contract.id).first<{ status: string }>();
    expect(row?.status).toBe("ended");
  });

  it("bills an event inside the grace period on the closing invoice, and not after finalization", async () => {
    const w = await world({ billing_interval: "week", grace_period_hours: 1 });
    const start = Date.now() - 7 * DAY - 30 * 60_000; // the first week ended 30 minutes ago
    const { customer, contract } = await subscribe(w, { start_date: iso(start) });
    const periodEnd = Date.parse(contract.current_period_end);
    const inGrace = await call("POST", "/v1/events", { key: w.key, body: { customer_id: customer, event_name: "call_count", timestamp: iso(periodEnd - HOUR) } });
    expect((await call("GET", `/v1/events/${inGrace.body.id}`, { key: w.key })).body.billing.status).toBe("billed");

    expect((await run(w)).body.invoices_finalized).toBe(0); // the grace hour is not over
    expect((await run(w, periodEnd + HOUR)).body.invoices_finalized).toBe(1);
    const [closed] = await invoicesOf(w, customer);
    expect(closed).toMatchObject({ status: "finalized", total: "50.08" });

    const afterwards = await call("POST", "/v1/events", { key: w.key, body: { customer_id: customer, event_name: "call_count", timestamp: iso(periodEnd - 2 * HOUR) } });
    expect(afterwards.status).toBe(202);
    expect((await call("GET", `/v1/events/${afterwards.body.id}`, { key: w.key })).body.billing).toEqual({
      status: "unbilled",
      reason: "outside_open_period",
      invoice_id: closed.id,
      meters: ["API_CALL"],
    });
    expect((await call("GET", `/v1/invoices/${closed.id}`, { key: w.key })).body.total).toBe("50.08");
  });

  it("prorates the fixed fee by the time used when a contract is cancelled now", async () => {
    const w = await world();
    const start = Date.parse("2026-06-01T00:00:00Z");
    const { customer, contract } = await subscribe(w, { start_date: iso(start) });
    await run(w, Date.parse("2026-06-20T00:00:00Z")); // nothing due yet: June is open
    const cancelled = await call("POST", `/v1/contracts/${contract.id}/cancel`, { key: w.key, body: { at: "now" } });
    expect(cancelled.body.status).toBe("cancelled");
    // The contract started in June 2026 and is cancelled now (later): June is complete and billed in full;
    // the period containing now is cut at now.
    await run(w, Date.now() + 2 * HOUR);
    const invoices = await invoicesOf(w, customer);
    const last = invoices[invoices.length - 1];
    expect(last.status).toBe("finalized");
    expect(Date.parse(last.period_end)).toBe(Date.parse(cancelled.body.cancel_at));
    const full = Date.UTC(new Date(last.period_start).getUTCFullYear(), new Date(last.period_start).getUTCMonth() + 1, 1) - Date.parse(last.period_start);
    const used = Date.parse(last.period_end) - Date.parse(last.period_start);
    const fee = last.line_items.find((l: any) => l.name === "Platform fee");
    expect(Number(fee.exact_amount)).toBeCloseTo((50 * used) / full, 6);
    expect(invoices.slice(0, -1).every((i: any) => i.total === "50.00")).toBe(true);
    expect((await run(w, Date.now() + 90 * DAY)).body.invoices_finalized).toBe(0);
  });

  it("finalizes, voids and marks paid by hand; finalized invoices never change", async () => {
    const w = await world();
    const { customer, contract } = await subscribe(w, { start_date: iso(Date.now() - 2 * DAY) });
    await send(w, customer, Date.now() - HOUR, 3);
    const draft = (await call("GET", `/v1/customers/${customer}/upcoming_invoice`, { key: w.key })).body;
    const finalized = await call("POST", `/v1/invoices/${draft.id}/finalize`, { key: w.key });
    expect(finalized.status).toBe(200);
    expect(finalized.body).toMatchObject({ status: "finalized", number: 1, total: "50.24" });
    expectError(await call("POST", `/v1/invoices/${draft.id}/finalize`, { key: w.key }), 409, "invoice_not_draft");
    // Events for the finalized period no longer change it.
    const after = await send(w, customer, Date.now() - HOUR, 2);
    expect(after.status).toBe(202);
    expect((await call("GET", `/v1/invoices/${draft.id}`, { key: w.key })).body.total).toBe("50.24");

    const paid = await call("POST", `/v1/invoices/${draft.id}/mark_paid`, { key: w.key });
    expect(paid.body).toMatchObject({ status: "paid", payment_status: "succeeded" });
    expect(paid.body.paid_at).not.toBeNull();
    expectError(await call("POST", `/v1/invoices/${draft.id}/mark_paid`, { key: w.key }), 409, "invoice_not_finalized");
    expectError(await call("POST", `/v1/invoices/${draft.id}/void`, { key: w.key }), 409, "invoice_not_voidable");

    // The next period's draft opens when the period begins; voiding a finalized invoice keeps it listed.
    await run(w, Date.parse(contract.current_period_end) + HOUR);
    const next = (await invoicesOf(w, customer)).find((i: any) => i.status === "draft");
    expect(next).toBeDefined();
    await call("POST", `/v1/invoices/${next.id}/finalize`, { key: w.key });
    const voided = await call("POST", `/v1/invoices/${next.id}/void`, { key: w.key });
    expect(voided.body).toMatchObject({ status: "void", number: 2 });
    expect((await call("GET", `/v1/invoices?status=void`, { key: w.key })).body.data.map((i: any) => i.id)).toEqual([next.id]);
    expectError(await call("POST", `/v1/invoices/${next.id}/void`, { key: w.key }), 409, "invoice_not_voidable");
    expectError(await call("POST", "/v1/invoices/nope/finalize", { key: w.key }), 404, "invoice_not_found");
  });

  it("gives concurrent runs and manual finalizations unique numbers without gaps", async () => {
    const w = await world({ net_terms_days: 0 });
    const customers = [];
    for (let i = 0; i < 4; i++) customers.push((await subscribe(w, { start_date: "2026-07-01T00:00:00Z" })).customer);
    const asOf = Date.parse("2026-10-02T00:00:00Z");
    const results = await Promise.all([run(w, asOf), run(w, asOf), run(w, asOf)]);
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(results.reduce((n, r) => n + r.body.invoices_finalized, 0)).toBe(12);
    const numbers = (await call("GET", "/v1/invoices?status=finalized&limit=100", { key: w.key })).body.data.map((i: any) => i.number);
    expect([...numbers].sort((a: number, b: number) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it("is run by the cron through the coordinator DO's alarm", async () => {
    const w = await world();
    const { customer } = await subscribe(w, { start_date: iso(Date.now() - 40 * DAY) });
    const last = await runCronBillingRun();
    expect(last).toMatchObject({ outcome: "completed", failed: 0 });
    expect(last?.customers).toBeGreaterThanOrEqual(1);
    const [closed] = await invoicesOf(w, customer);
    expect(closed).toMatchObject({ status: "finalized", number: 1 });
  });

  it("is test-mode only and isolated per account", async () => {
    const w = await world();
    const other = await newAccount("Other");
    const { customer } = await subscribe(w, { start_date: iso(Date.now() - 40 * DAY) });
    expectError(await call("POST", "/v1/billing_runs", { key: w.acct.live, body: {} }), 403, "testmode_required");
    expectError(await call("POST", "/v1/billing_runs", { body: {} }), 401, "authentication_required");
    expectError(await call("POST", "/v1/billing_runs", { key: w.key, body: { as_of: "soon" } }), 400, "parameter_invalid", "as_of");
    expectError(await call("POST", "/v1/billing_runs", { key: w.key, body: { when: "now" } }), 400, "parameter_unknown", "when");
    // Another account's run does not touch this account's invoices.
    expect((await runBilling(other.test)).body.customers).toBe(0);
    const [draft] = await invoicesOf(w, customer);
    expect(draft.status).toBe("draft");
    for (const key of [w.acct.live, other.test, other.live]) {
      for (const action of ["finalize", "void", "mark_paid"]) {
        expectError(await call("POST", `/v1/invoices/${draft.id}/${action}`, { key }), 404, "invoice_not_found");
      }
    }
    expect((await call("GET", `/v1/invoices/${draft.id}`, { key: w.key })).body.status).toBe("draft");
  });
});

describe("billing runs over the API", () => {
  it("answers 202 with a running run at once; the coordinator does the work, and GET shows the final counts", async () => {
    const w = await world();
    const { customer } = await subscribe(w, { start_date: iso(Date.now() - 40 * DAY) });
    const started = await startBillingRun(w.key);
    // The answer came before any work was counted: the coordinator's alarms do it, not the request.
    expect(started.body).toMatchObject({
      object: "billing_run",
      livemode: false,
      status: "running",
      phase: "contracts",
      completed_at: null,
      customers: 0,
      invoices_finalized: 0,
      failure_reason: null,
    });
    expect(started.headers.get("Location")).toBe(`/v1/billing_runs/${started.body.id}`);

    const done = await finishBillingRun(w.key, started.body.id);
    expect(done.body).toMatchObject({
      id: started.body.id,
      status: "completed",
      phase: null,
      as_of: started.body.as_of,
      started_at: started.body.started_at,
      customers: 1,
      invoices_finalized: 1,
      drafts_opened: 1,
      failed: 0,
      payments_attempted: 0,
    });
    expect(Date.parse(done.body.completed_at)).toBeGreaterThanOrEqual(Date.parse(done.body.started_at));
    expect((await invoicesOf(w, customer)).map((i: any) => i.status)).toEqual(["finalized", "draft"]);
    const list = await call("GET", "/v1/billing_runs", { key: w.key });
    expect(list.body).toMatchObject({ data: [done.body], has_more: false });
  });

  it("replays the same run for the same Idempotency-Key instead of starting another", async () => {
    const w = await world();
    await subscribe(w, { start_date: iso(Date.now() - 40 * DAY) });
    const headers = { "Idempotency-Key": "run-once" };
    const first = await startBillingRun(w.key, {}, headers);
    const again = await startBillingRun(w.key, {}, headers);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body.id).toBe(first.body.id);
    expect((await finishBillingRun(w.key, first.body.id)).body).toMatchObject({ status: "completed", invoices_finalized: 1 });
    expect((await call("GET", "/v1/billing_runs", { key: w.key })).body.data.map((r: any) => r.id)).toEqual([first.body.id]);
  });

  it("keeps each account's and mode's runs to themselves: 404 for another's run id", async () => {
    const w = await world();
    const other = await newAccount("Other");
    const { customer } = await subscribe(w, { start_date: iso(Date.now() - 40 * DAY) });
    const theirs = await runBilling(other.test);
    expect(theirs.body).toMatchObject({ status: "completed", customers: 0, invoices_finalized: 0 });
    expect((await invoicesOf(w, customer))[0].status).toBe("draft");

    const mine = await runBilling(w.key);
    expect(mine.body).toMatchObject({ customers: 1, invoices_finalized: 1 });
    for (const key of [other.test, other.live, w.acct.live]) {
      expectError(await call("GET", `/v1/billing_runs/${mine.body.id}`, { key }), 404, "billing_run_not_found", "id");
    }
    expectError(await call("GET", `/v1/billing_runs/${crypto.randomUUID()}`, { key: w.key }), 404, "billing_run_not_found", "id");
    expect((await call("GET", "/v1/billing_runs", { key: other.test })).body.data.map((r: any) => r.id)).toEqual([theirs.body.id]);
    expect((await call("GET", "/v1/billing_runs", { key: w.acct.live })).body.data).toEqual([]);
  });

  it("ends failed with the reason when a page keeps failing, and a later run bills what it left", async () => {
    const w = await world();
    const { customer } = await subscribe(w, { start_date: iso(Date.now() - 40 * DAY) });
    const now = Date.now();
    const id = crypto.randomUUID();
    await env.DB.prepare("INSERT INTO billing_runs (id, account_id, mode, status, phase, as_of, created_at, updated_at) VALUES (?, ?, 'test', 'running', 'contracts', ?, ?, ?)")
      .bind(id, w.acct.id, now, now, now)
      .run();
    // D1 as it is, except that the query for due customers always fails.
    const db = env.DB;
    const brokenDb = new Proxy(db, {
      get(target, prop) {
        if (prop !== "prepare") return Reflect.get(target, prop);
        return (sql: string) => {
          if (sql.includes("WITH due AS")) throw new Error("D1 unavailable (test)");
          return target.prepare(sql);
        };
      },
    });
    const steps = await runInProcess({ ...(env as any), DB: brokenDb }, { accountId: w.acct.id, mode: "test" }, now, id);
    // The invoices page is tried once and retried after each of the 4 pauses, then the run gives up.
    expect(steps.filter((s) => s.run.errors && s.run.errors > 0).map((s) => s.nextInMs)).toEqual([1_000, 5_000, 30_000, 120_000]);
    expect(steps.at(-1)!.run).toMatchObject({ outcome: "failed", failureReason: "D1 unavailable (test)" });
    const failed = await call("GET", `/v1/billing_runs/${id}`, { key: w.key });
    expect(failed.body).toMatchObject({ status: "failed", phase: null, failure_reason: "D1 unavailable (test)", customers: 0 });
    expect(failed.body.completed_at).not.toBeNull();
    expect((await invoicesOf(w, customer))[0].status).toBe("draft");

    expect((await runBilling(w.key)).body).toMatchObject({ status: "completed", invoices_finalized: 1 });
  });
});
