// The dashboard's ledger shard count through HTTP: the customer page and edit form, raising it, a refused lowering beside
// its field, other accounts' customers as 404 pages, and the 409 ledger_sharded of the corrections shown in words.
import { describe, expect, it } from "vitest";
import { call, newAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
const errorFor = (html: string, field: string) => {
  const m = new RegExp(`data-error-for="${field}">([^<]*)<`).exec(html);
  return m ? unescape(m[1]!).trim() : undefined;
};
const text = (html: string) => unescape(html.replace(/<[^>]+>/g, " ")).replace(/\s+/g, " ");

/** An account with one customer, and a browser signed in to it. */
async function world(name = "Ada Corp") {
  const acct = await newAccount();
  const key = acct.test;
  const customer = await call("POST", "/v1/customers", { key, body: { name, email: "billing@ada.test" } });
  expect(customer.status).toBe(201);
  const b = new Browser();
  const signin = await b.submit("/dashboard/signin", "/dashboard/signin", { api_key: key });
  expect(signin.status, signin.html).toBe(303);
  const id = customer.body.id as string;
  return { key, id, b, page: `/dashboard/customers/${id}`, edit: `/dashboard/customers/${id}/edit` };
}

type World = Awaited<ReturnType<typeof world>>;

const apiCustomer = async (w: World) => (await call("GET", `/v1/customers/${w.id}`, { key: w.key })).body;

/** The edit form as a browser would post it: every field the page rendered, with `changes` typed over them. */
async function saveEdit(w: World, changes: Record<string, string>) {
  const form = await w.b.get(w.edit);
  const fields: Record<string, string> = {};
  for (const m of form.html.matchAll(/<input [^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields[unescape(m[1]!)] = unescape(m[2]!);
  return w.b.request("POST", w.edit, { ...fields, ...changes });
}

describe("dashboard ledger shards", () => {
  it("shows the count on the edit form, bounded by the current count and 64, and on the customer page once raised", async () => {
    const w = await world();
    const form = await w.b.get(w.edit);
    expect(form.status).toBe(200);
    expect(form.html).toMatch(/<input id="f-ledger_shards" name="ledger_shards" type="number" min="1" max="64" step="1" value="1"/);
    expect(text(form.html)).toContain("More ledgers take more of this customer's events per second; its invoices are the same.");
    // One ledger is every customer's default: the page says nothing about it.
    expect((await w.b.get(w.page)).html).not.toContain('data-testid="ledger-shards"');

    const saved = await saveEdit(w, { ledger_shards: "4" });
    expect(saved.status, saved.html).toBe(303);
    expect(saved.location).toBe(w.page);
    expect(await apiCustomer(w)).toMatchObject({ ledger_shards: 4, name: "Ada Corp", email: "billing@ada.test" });

    const page = await w.b.get(w.page);
    const line = /data-testid="ledger-shards">(.*?)<\/dd>/s.exec(page.html)?.[1];
    expect(text(line ?? "")).toContain("4 · This customer's events are spread over 4 ledgers so it can send more events per second; its invoices are the same.");
    expect((await w.b.get(w.edit)).html).toMatch(/name="ledger_shards" type="number" min="4" max="64" step="1" value="4"/);
  });

  it("shows the customer page of a sharded customer whose meter cannot be charted, with a notice instead of the chart", async () => {
    const w = await world();
    expect((await call("POST", "/v1/meters", { key: w.key, body: { code: "USERS", event_name: "login", display_name: "Users", aggregation: "unique_count", aggregation_property: "user" } })).status).toBe(201);
    const plan = await call("POST", "/v1/plans", { key: w.key, body: { name: "P", prices: [{ type: "usage", meter_code: "USERS", model: "per_unit", unit_price: "1.00" }] } });
    expect((await call("POST", "/v1/contracts", { key: w.key, body: { customer_id: w.id, plan_id: plan.body.id } })).status).toBe(201);
    expect((await call("PATCH", `/v1/customers/${w.id}`, { key: w.key, body: { ledger_shards: 2 } })).status).toBe(200);
    const sent = await call("POST", "/v1/events/batch", {
      key: w.key,
      body: { events: ["a", "b", "a", "c"].map((user, i) => ({ customer_id: w.id, event_name: "login", idempotency_key: `l${i}`, properties: { user } })) },
    });
    expect(sent.status).toBe(202);
    const page = await w.b.get(w.page);
    expect(page.status, page.html).toBe(200);
    expect(text(page.html)).toContain("Users over time is not available for a customer whose events are spread over ledger shards; its invoice shows the quantity.");
    expect((await call("GET", `/v1/customers/${w.id}/upcoming_invoice`, { key: w.key })).body.line_items[0].quantity).toBe("3");
  });

  it("refuses a lower count beside the field in words and changes nothing, not even the other fields", async () => {
    const w = await world();
    expect((await saveEdit(w, { ledger_shards: "4" })).status).toBe(303);
    const before = await apiCustomer(w);

    const lower = await saveEdit(w, { ledger_shards: "2", name: "Renamed" });
    expect(lower.status).toBe(400);
    expect(errorFor(lower.html, "ledger_shards")).toBe("Ledger shards can only be raised: it is 4");
    // The form comes back as typed, so the person sees what was refused.
    expect(lower.html).toMatch(/name="ledger_shards" type="number" min="4" max="64" step="1" value="2"/);
    expect(lower.html).toContain('value="Renamed"');
    expect(await apiCustomer(w)).toEqual(before);

    for (const [typed, status] of [["0", 400], ["65", 400], ["two", 400]] as const) {
      const res = await saveEdit(w, { ledger_shards: typed });
      expect(res.status, typed).toBe(status);
      expect(errorFor(res.html, "ledger_shards"), typed).toBe("Type a whole number from 1 to 64");
    }
    expect(await apiCustomer(w)).toEqual(before);
  });

  it("does not send an unchanged count: a form opened before someone raised it still saves its other fields", async () => {
    const w = await world();
    const stale = await w.b.get(w.edit);
    const fields: Record<string, string> = {};
    for (const m of stale.html.matchAll(/<input [^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields[unescape(m[1]!)] = unescape(m[2]!);
    expect(fields).toMatchObject({ ledger_shards: "1", ledger_shards_shown: "1" });
    expect((await call("PATCH", `/v1/customers/${w.id}`, { key: w.key, body: { ledger_shards: 3 } })).status).toBe(200);

    const saved = await w.b.request("POST", w.edit, { ...fields, name: "Ada Renamed" });
    expect(saved.status, saved.html).toBe(303);
    expect(await apiCustomer(w)).toMatchObject({ name: "Ada Renamed", ledger_shards: 3 });
  });

  it("answers another account's customer with a 404 page and leaves its count alone", async () => {
    const mine = await world("Mine");
    const theirs = await world("Theirs");
    expect((await mine.b.get(theirs.edit)).status).toBe(404);
    const tokens = await mine.b.formTokens(mine.edit);
    const res = await mine.b.request("POST", theirs.edit, { ...tokens, name: "Theirs", ledger_shards: "8", ledger_shards_shown: "1" });
    expect(res.status).toBe(404);
    expect(await apiCustomer(theirs)).toMatchObject({ ledger_shards: 1, name: "Theirs" });
  });
});

describe("dashboard corrections for a sharded customer", () => {
  it("voids one event through its shard, and shows the 409 ledger_sharded in words on the other confirmations", async () => {
    const w = await world();
    const { key, id } = w;
    await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", aggregation: "count" } });
    const plan = await call("POST", "/v1/plans", {
      key,
      body: { name: "Usage", prices: [{ type: "usage", meter_code: "API", model: "per_unit", unit_price: "0.10" }] },
    });
    expect((await call("POST", "/v1/contracts", { key, body: { customer_id: id, plan_id: plan.body.id, start_date: "2026-06-01T00:00:00Z" } })).status).toBe(201);
    expect((await saveEdit(w, { ledger_shards: "2" })).status).toBe(303);
    const event = await call("POST", "/v1/events", { key, body: { customer_id: id, event_name: "api_call", idempotency_key: "one", timestamp: "2026-06-10T00:00:00Z" } });
    expect(event.status, JSON.stringify(event.body)).toBe(202);
    expect((await call("POST", "/v1/events", { key, body: { customer_id: id, event_name: "api_call", idempotency_key: "two", timestamp: "2026-06-11T00:00:00Z" } })).status).toBe(202);
    const drafts = await call("GET", `/v1/invoices?customer_id=${id}&limit=100`, { key });
    const draft = drafts.body.data.find((i: any) => i.period_start === "2026-06-01T00:00:00Z");
    expect(draft).toMatchObject({ status: "draft" });

    const b = w.b;
    const range = { customer_id: id, from: "2026-06-01T00:00:00Z", to: "2026-07-01T00:00:00Z", event_name: "" };
    const many = await b.submit("/dashboard/events/void", "/dashboard/events/void/confirm", range);
    expect(many.status).toBe(409);
    expect(text(many.html)).toContain("Voiding a range of events is not available yet for a customer whose events are split over ledger shards.");
    expect((await call("GET", `/v1/events/${event.body.id}`, { key })).body.voided_at).toBeNull();

    // One event is voided by the shard that stores it, and the customer's draft loses it at once.
    const eventPage = `/dashboard/events/${event.body.id}`;
    const one = await b.submit(`${eventPage}/void`, `${eventPage}/void`, {});
    expect(one.status, one.html).toBe(303);
    expect((await call("GET", `/v1/events/${event.body.id}`, { key })).body.voided_at).not.toBeNull();
    expect((await call("GET", `/v1/invoices/${draft.id}`, { key })).body.total).toBe("0.10");

    const invoicePage = `/dashboard/invoices/${draft.id}`;
    const voidDraft = await b.submit(`${invoicePage}/void`, `${invoicePage}/void`, {});
    expect(voidDraft.status).toBe(409);
    expect(text(voidDraft.html)).toContain("Voiding a draft is not available yet for a customer whose events are split over ledger shards: finalize it, then void it");
    expect((await call("GET", `/v1/invoices/${draft.id}`, { key })).body.status).toBe("draft");

    // Regenerating needs a void invoice: finalized, then voided (a finalized invoice can be voided when sharded).
    expect((await call("POST", `/v1/invoices/${draft.id}/finalize`, { key })).status).toBe(200);
    expect((await call("POST", `/v1/invoices/${draft.id}/void`, { key })).status).toBe(200);
    const regen = await b.submit(`${invoicePage}/regenerate`, `${invoicePage}/regenerate`, {});
    expect(regen.status).toBe(409);
    expect(text(regen.html)).toContain("Regenerating an invoice is not available yet for a customer whose events are split over ledger shards");
    expect((await call("GET", `/v1/invoices/${draft.id}`, { key })).body).toMatchObject({ status: "void", regenerated_by: null });
  });
});
