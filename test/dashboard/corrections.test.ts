// The dashboard's corrections through HTTP (SPEC §18): voiding an event and a customer's range behind confirmation pages,
// regenerating a void invoice, the 409 of a closed period shown with its invoice, and other accounts' ids as 404 pages.
import { describe, expect, it } from "vitest";
import { call, newAccount } from "../support/api";
import { runBilling } from "../support/billing";
import { Browser } from "../support/dashboard-browser";

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
const errorFor = (html: string, field: string) => {
  const m = new RegExp(`data-error-for="${field}">([^<]*)<`).exec(html);
  return m ? unescape(m[1]!) : undefined;
};

/** The hidden fields of the page's form that posts to `action`, as the browser would send them. */
function formFields(html: string, action: string): Record<string, string> {
  const form = new RegExp(`<form method="post" action="${action}">(.*?)</form>`, "s").exec(html)?.[1];
  expect(form, `no form posting to ${action}`).toBeTruthy();
  const out: Record<string, string> = {};
  for (const m of form!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) out[unescape(m[1]!)] = unescape(m[2]!);
  return out;
}

/** A customer billed $1.00 a GB and $0.10 an API call, monthly since June 2026, with no grace period. */
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
  expect(plan.status).toBe(201);
  const customer = await call("POST", "/v1/customers", { key, body: { name: "Ada Corp" } });
  const contract = await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id, start_date: "2026-06-01T00:00:00Z" } });
  expect(contract.status).toBe(201);
  return { acct, key, customer: customer.body.id as string };
}

type World = Awaited<ReturnType<typeof world>>;

async function send(w: World, idempotency_key: string, gb: number, timestamp = "2026-06-10T00:00:00Z") {
  const res = await call("POST", "/v1/events", { key: w.key, body: { customer_id: w.customer, event_name: "transfer", idempotency_key, timestamp, properties: { gb } } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body as { id: string; status: string };
}

async function periodInvoices(w: World, start = "2026-06-01T00:00:00Z"): Promise<any[]> {
  const list = await call("GET", `/v1/invoices?customer_id=${w.customer}&limit=100`, { key: w.key });
  return list.body.data.filter((i: any) => i.period_start === start);
}

const june = async (w: World) => (await periodInvoices(w)).find((i) => i.status !== "void");
const eventOf = async (w: World, id: string) => (await call("GET", `/v1/events/${id}`, { key: w.key })).body;
const invoiceOf = async (w: World, id: string) => (await call("GET", `/v1/invoices/${id}`, { key: w.key })).body;

/** Signed in with the world's test key. NOTE: not Browser.signIn, which also pins the page sign-in lands on. */
async function signedIn(w: World) {
  const b = new Browser();
  const res = await b.submit("/dashboard/signin", "/dashboard/signin", { api_key: w.key });
  expect(res.status, res.html).toBe(303);
  return b;
}

describe("dashboard event voids", () => {
  it("voids an event through its confirmation page: the API shows it voided, the invoice drops, the history keeps the void", async () => {
    const w = await world();
    const a = await send(w, "a", 5);
    await send(w, "b", 7);
    const draft = await june(w);
    expect(draft.total).toBe("12.00");
    const b = await signedIn(w);
    const page = `/dashboard/events/${a.id}`;

    const before = await b.get(page);
    expect(before.html).toContain(`href="${page}/void"`);
    expect(before.html).toContain('data-testid="event-history-empty"');
    const confirm = await b.get(`${page}/void`);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain(`It stops counting on <a href="/dashboard/invoices/${draft.id}">the draft invoice for 2026-06-01 → 2026-07-01</a>`);
    expect(confirm.html).toMatch(/again with the same payload, as a retry would, keeps it\s+voided/);
    expect(confirm.html).toContain("with a corrected payload makes a new version of the event that counts again");
    // Opening the confirmation changed nothing.
    expect((await eventOf(w, a.id)).billing.status).toBe("billed");

    const done = await b.submit(`${page}/void`, `${page}/void`, {});
    expect(done.status, done.html).toBe(303);
    expect(done.location).toBe(page);
    const voided = await eventOf(w, a.id);
    expect(voided).toMatchObject({ billing: { status: "voided", invoice_id: draft.id } });
    expect(voided.voided_at).toMatch(/^\d{4}-/);
    expect((await june(w)).total).toBe("7.00");

    const after = (await b.get(page)).html;
    expect(after).toContain('<span class="badge void">voided</span>');
    expect(after).toContain(`data-testid="event-voided">Voided at ${voided.voided_at.slice(0, 10)} ${voided.voided_at.slice(11, 16)} UTC`);
    expect(after).not.toContain('data-action="void-event"');
    const list = (await b.get(`/dashboard/events?customer_id=${w.customer}`)).html;
    expect(list).toMatch(/<tr data-billing="voided">.*?<span class="badge void">Voided<\/span>/s);
    // The confirmation of a voided event offers nothing more.
    expect((await b.get(`${page}/void`)).html).not.toContain('data-confirm="void-event"');

    // A corrected payload counts again; the voided version shows in the history.
    expect((await send(w, "a", 6)).status).toBe("replaced");
    expect((await june(w)).total).toBe("13.00");
    const history = /data-testid="event-history">(.*?)<\/table>/s.exec((await b.get(page)).html)?.[1] ?? "";
    expect(unescape(history)).toMatch(/<tr data-version="1">.*?\{"gb":5\}.*?data-voided="yes">Voided /s);
  });

  it("voids a customer's range after a review that counts the events; errors show next to their fields", async () => {
    const w = await world();
    const other = await world();
    for (const [k, ts] of [["early", "2026-06-02T00:00:00Z"], ["mid1", "2026-06-10T00:00:00Z"], ["mid2", "2026-06-19T23:59:59Z"], ["late", "2026-06-20T00:00:00Z"]] as const) {
      await send(w, k, 1, ts);
    }
    await call("POST", "/v1/events", { key: w.key, body: { customer_id: w.customer, event_name: "api_call", idempotency_key: "call", timestamp: "2026-06-12T00:00:00Z" } });
    const b = await signedIn(w);

    const listed = await b.get(`/dashboard/events?customer_id=${w.customer}`);
    expect(listed.html).toContain(`href="/dashboard/events/void?customer_id=${w.customer}"`);
    const form = await b.get(`/dashboard/events/void?customer_id=${w.customer}&from=2026-06-10`);
    expect(form.html).toContain(`<option value="${w.customer}" selected="">Ada Corp</option>`);
    expect(form.html).toContain('name="from" type="datetime-local" value="2026-06-10T00:00"');
    expect(form.html).toContain("From (UTC, inclusive)");

    const bad: Array<[Record<string, string>, string, string | RegExp]> = [
      [{ customer_id: w.customer, from: "2026-06-20T00:00", to: "2026-06-10T00:00" }, "to", "must be after From"],
      [{ customer_id: w.customer, from: "last week", to: "2026-06-10T00:00" }, "from", "must be a date and time such as 2026-03-15 10:30 (UTC)"],
      [{ customer_id: "", from: "2026-06-01T00:00", to: "2026-06-10T00:00" }, "customer_id", "choose a customer"],
      [{ customer_id: other.customer, from: "2026-06-01T00:00", to: "2026-06-10T00:00" }, "customer_id", /^Customer not found/],
    ];
    for (const [fields, field, message] of bad) {
      const res = await b.submit("/dashboard/events/void", "/dashboard/events/void", { event_name: "", ...fields });
      expect(res.status, field).toBeGreaterThanOrEqual(400);
      expect(errorFor(res.html, field)).toMatch(message);
    }

    // From/to are read as UTC: the event at exactly 2026-06-10 00:00 UTC is in, the one at 2026-06-20 00:00 is out.
    const review = await b.submit("/dashboard/events/void", "/dashboard/events/void", {
      customer_id: w.customer,
      from: "2026-06-10T00:00",
      to: "2026-06-20T00:00",
      event_name: "transfer",
    });
    expect(review.status, review.html).toBe(200);
    expect(review.html).toContain('data-testid="void-count" data-count="2">Void 2 events?');
    expect(review.html).toContain("2026-06-10 00:00:00 UTC");
    expect((await june(w)).line_items.map((l: any) => l.quantity)).toEqual(["4", "1"]);

    const done = await b.request("POST", "/dashboard/events/void/confirm", formFields(review.html, "/dashboard/events/void/confirm"));
    expect(done.status, done.html).toBe(303);
    expect(done.location).toContain("voided=2");
    expect((await b.get(done.location!)).html).toContain('data-testid="voided-notice">Voided 2 events.');
    expect((await june(w)).line_items.map((l: any) => l.quantity)).toEqual(["2", "1"]);
    expect((await june(other)).line_items[0].quantity).toBe("0");

    // Without a name the API call goes too; the voided ones are left as they are.
    const again = await b.submit("/dashboard/events/void", "/dashboard/events/void", { customer_id: w.customer, from: "2026-06-10T00:00", to: "2026-06-20T00:00", event_name: "" });
    expect(again.html).toContain('data-count="1">Void 1 event?');
    expect(again.html).toContain("2 already voided in the range are left as they are");
  });

  it("shows a closed period's refusal with its invoice and how to correct it, and changes nothing", async () => {
    const w = await world();
    const e = await send(w, "june", 4);
    await runBilling(w.key, { as_of: "2026-07-01T00:00:00Z" });
    const [closed] = await periodInvoices(w);
    expect(closed).toMatchObject({ status: "finalized", total: "4.00" });
    const july = await send(w, "july", 3, "2026-07-05T00:00:00Z");
    const b = await signedIn(w);
    const page = `/dashboard/events/${e.id}`;

    const confirm = await b.get(`${page}/void`);
    expect(confirm.html).toContain('data-testid="closed-period"');
    expect(confirm.html).toContain(`<a href="/dashboard/invoices/${closed.id}">Invoice #${closed.number}</a> (finalized)`);
    expect(confirm.html).not.toContain('data-confirm="void-event"');

    // Posted anyway (a stale page): the service's 409, with the link and the hint.
    const refused = await b.submit(page, `${page}/void`, {});
    expect(refused.status).toBe(409);
    expect(refused.html).toContain(`Event ${e.id} is on invoice ${closed.id}, which is no longer a draft`);
    expect(refused.html).toContain(`href="/dashboard/invoices/${closed.id}"`);
    expect(refused.html).toContain(`To correct its period: void invoice #${closed.number}, then regenerate it`);
    expect((await eventOf(w, e.id)).billing.status).toBe("billed");

    // A range over June and July is refused whole: the July event still counts.
    const range = { customer_id: w.customer, from: "2026-06-01T00:00", to: "2026-08-01T00:00", event_name: "" };
    const review = await b.submit("/dashboard/events/void", "/dashboard/events/void", range);
    expect(review.html).toContain('data-count="2"');
    expect(review.html).toContain('data-testid="closed-period"');
    expect(review.html).not.toContain('data-confirm="void-events"');
    const hidden = { customer_id: w.customer, from: "2026-06-01T00:00:00Z", to: "2026-08-01T00:00:00Z", event_name: "" };
    const posted = await b.submit("/dashboard/events/void", "/dashboard/events/void/confirm", hidden);
    expect(posted.status).toBe(409);
    expect(posted.html).toContain("which is no longer a draft");
    expect(posted.html).toContain(`href="/dashboard/invoices/${closed.id}"`);
    expect(posted.html).toContain('name="from" type="datetime-local" value="2026-06-01T00:00"');
    expect((await eventOf(w, july.id)).billing.status).toBe("billed");
    expect((await eventOf(w, e.id)).billing.status).toBe("billed");
    expect((await invoiceOf(w, closed.id)).total).toBe("4.00");
  });
});

describe("dashboard regenerate", () => {
  it("regenerates a void invoice through its page: a new draft priced from the events as they are now, linked both ways", async () => {
    const w = await world();
    const a = await send(w, "a", 4);
    await send(w, "b", 3);
    await runBilling(w.key, { as_of: "2026-07-01T00:00:00Z" });
    const [closed] = await periodInvoices(w);
    const b = await signedIn(w);
    const page = `/dashboard/invoices/${closed.id}`;
    expect((await b.get(page)).html).not.toContain('data-action="regenerate"');
    expect((await b.submit(`${page}/void`, `${page}/void`, {})).status).toBe(303);
    // While void: an amendment and a late event are stored, not billed.
    expect((await send(w, "a", 10)).status).toBe("replaced");
    await send(w, "late", 2, "2026-06-30T23:00:00Z");

    const voidPage = (await b.get(page)).html;
    expect(voidPage).toContain('data-action="regenerate"');
    expect(voidPage).toContain('data-testid="invoice-voided-at">');
    const confirm = await b.get(`${page}/regenerate`);
    expect(confirm.html).toContain("priced from the period&#39;s events as they are now");
    expect(confirm.html).toContain("with a new invoice number, once the plan&#39;s grace period (0 hours) has passed");
    expect(await periodInvoices(w)).toHaveLength(1);

    const done = await b.submit(`${page}/regenerate`, `${page}/regenerate`, {});
    expect(done.status, done.html).toBe(303);
    const draftId = /^\/dashboard\/invoices\/([0-9a-f-]{36})$/.exec(done.location ?? "")?.[1];
    expect(draftId).toBeTruthy();
    const draft = await invoiceOf(w, draftId!);
    expect(draft).toMatchObject({ status: "draft", regenerated_from: closed.id, number: null, total: "15.00" });
    expect(await invoiceOf(w, closed.id)).toMatchObject({ status: "void", regenerated_by: draftId });

    const draftPage = (await b.get(done.location!)).html;
    expect(draftPage).toContain(`data-testid="regenerated-from"><a href="${page}" class="mono">`);
    const voidAfter = (await b.get(page)).html;
    expect(voidAfter).toContain(`data-testid="regenerated-as"><a href="/dashboard/invoices/${draftId}" class="mono">`);
    expect(voidAfter).not.toContain('data-action="regenerate"');

    // Again (a stale page): the service's 409, and no third invoice.
    const again = await b.submit(page, `${page}/regenerate`, {});
    expect(again.status).toBe(409);
    expect(again.html).toContain(`This period was already regenerated as invoice ${draftId}`);
    expect(await periodInvoices(w)).toHaveLength(2);

    // The period is open again: its events can be voided from the dashboard.
    expect((await b.submit(`/dashboard/events/${a.id}/void`, `/dashboard/events/${a.id}/void`, {})).status).toBe(303);
    expect((await invoiceOf(w, draftId!)).total).toBe("5.00");
  });
});

describe("dashboard corrections isolation", () => {
  it("another account's event, invoice and customer are 404s and errors, and nothing changes", async () => {
    const w = await world();
    const other = await world();
    const theirs = await send(other, "theirs", 5);
    await runBilling(other.key, { as_of: "2026-07-01T00:00:00Z" });
    const [theirInvoice] = await periodInvoices(other);
    expect((await call("POST", `/v1/invoices/${theirInvoice.id}/void`, { key: other.key })).body.status).toBe("void");
    await runBilling(w.key, { as_of: "2026-07-01T00:00:00Z" });
    const [mine] = await periodInvoices(w);
    const b = await signedIn(w);

    const eventPage = `/dashboard/events/${theirs.id}`;
    for (const path of [eventPage, `${eventPage}/void`, `/dashboard/invoices/${theirInvoice.id}/regenerate`]) {
      const res = await b.get(path);
      expect(res.status, path).toBe(404);
      expect(res.html).toContain("Not found");
    }
    expect((await b.submit("/dashboard/events", `${eventPage}/void`, {})).status).toBe(404);
    expect((await b.submit("/dashboard/invoices", `/dashboard/invoices/${theirInvoice.id}/regenerate`, {})).status).toBe(404);
    const range = { customer_id: other.customer, from: "2026-06-01T00:00:00Z", to: "2026-07-01T00:00:00Z", event_name: "" };
    const posted = await b.submit("/dashboard/events/void", "/dashboard/events/void/confirm", range);
    expect(posted.status).toBe(404);
    expect(errorFor(posted.html, "customer_id")).toMatch(/^Customer not found/);

    expect((await eventOf(other, theirs.id)).billing.status).toBe("billed");
    expect(await invoiceOf(other, theirInvoice.id)).toMatchObject({ status: "void", regenerated_by: null });
    expect(await periodInvoices(other)).toHaveLength(1);
    // The session's own finalized invoice offers no Regenerate: only a void one does.
    expect((await b.get(`/dashboard/invoices/${mine.id}`)).html).not.toContain('data-action="regenerate"');
  });
});
