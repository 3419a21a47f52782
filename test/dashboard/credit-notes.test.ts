// The dashboard's credit notes through HTTP (SPEC §14, §18): the invoice page's button and list, the form (a whole
// amount or per line, amounts as typed), the confirmation page showing the effect, errors next to their fields, acting
// once, and isolation between accounts and modes.
import { describe, expect, it } from "vitest";
import { call, newAccount } from "../support/api";
import { runBilling } from "../support/billing";
import { Browser } from "../support/dashboard-browser";

/** A $50 platform fee and API calls at $0.10 (100 in January): January's invoice, finalized, total $60. */
async function world(key: string) {
  expect((await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "sum", aggregation_property: "calls" } })).status).toBe(201);
  const plan = await call("POST", "/v1/plans", {
    key,
    body: {
      name: "Pro",
      prices: [
        { type: "fixed", name: "Platform fee", amount: "50.00" },
        { type: "usage", meter_code: "API", model: "per_unit", unit_price: "0.10" },
      ],
    },
  });
  const customer = await call("POST", "/v1/customers", { key, body: { name: "Ada Corp" } });
  expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id, start_date: "2026-01-01T00:00:00Z" } })).status).toBe(201);
  await call("POST", "/v1/events", { key, body: { customer_id: customer.body.id, event_name: "api_call", idempotency_key: "jan", timestamp: "2026-01-10T00:00:00Z", properties: { calls: 100 } } });
  expect((await runBilling(key, { as_of: "2026-02-01T02:00:00Z" })).body.status).toBe("completed");
  const invoices = (await call("GET", `/v1/invoices?customer_id=${customer.body.id}`, { key })).body.data;
  const inv = invoices.find((i: any) => i.period_start === "2026-01-01T00:00:00Z");
  expect(inv).toMatchObject({ status: "finalized", total: "60.00" });
  const draft = invoices.find((i: any) => i.status === "draft");
  return { key, customer: customer.body.id as string, inv, draft, page: `/dashboard/invoices/${inv.id}` };
}

const errorFor = (html: string, field: string) => new RegExp(`data-error-for="${field.replace(/[[\]]/g, "\\$&")}">([^<]*)<`).exec(html)?.[1];
const notes = async (key: string, invoiceId: string) => (await call("GET", `/v1/credit_notes?invoice_id=${invoiceId}`, { key })).body.data;
const text = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/&#39;/g, "'").replace(/\s+/g, " ");

describe("dashboard credit notes", () => {
  it("issue a whole-amount note on an unpaid invoice through the form and its confirmation, once; the invoice page lists it", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const b = new Browser();
    await b.signIn(acct.test);
    const page = await b.get(w.page);
    expect(page.html).toContain(`href="${w.page}/credit_notes/new"`);
    expect((await b.get(`/dashboard/invoices/${w.draft.id}`)).html).not.toContain("credit_notes/new");

    const form = await b.get(`${w.page}/credit_notes/new`);
    expect(form.status).toBe(200);
    expect(text(form.html)).toContain("$60.00 of its $60.00 total can still be credited");
    expect(form.html).toContain('name="line:0"');
    expect(form.html).toContain('name="line:1"');

    const review = await b.submit(`${w.page}/credit_notes/new`, `${w.page}/credit_notes`, { amount: "$5", reason: "duplicate", refund_to: "", memo: "Charged twice" });
    expect(review.status, review.html).toBe(200);
    const summary = text(/data-testid="credit-note-summary">(.*?)<\/dl>/s.exec(review.html)![1]!);
    expect(summary).toContain("$5.00 (whole amount)");
    expect(summary).toContain("Duplicate charge · “Charged twice”");
    expect(summary).toContain("Amount due $60.00 → $55.00");
    expect(summary).toContain("None: the note only lowers what is due");
    expect(await notes(w.key, w.inv.id)).toEqual([]);

    const tokens = await b.formTokens(`${w.page}/credit_notes/new`);
    const confirmTokens = { _csrf: tokens._csrf, _once: /name="_once" value="([^"]+)"/.exec(review.html)![1]! };
    const fields = { amount: "$5", reason: "duplicate", refund_to: "", memo: "Charged twice" };
    const issued = await b.request("POST", `${w.page}/credit_notes/confirm`, { ...confirmTokens, ...fields });
    expect(issued.status, issued.html).toBe(303);
    expect(issued.location).toBe(`${w.page}#credit-notes`);
    const again = await b.request("POST", `${w.page}/credit_notes/confirm`, { ...confirmTokens, ...fields });
    expect(again.status).toBe(303);
    const made = await notes(w.key, w.inv.id);
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({ amount: "5.00", reason: "duplicate", refund_to: "none", memo: "Charged twice", number: `${w.inv.number}-CN-01` });

    const after = await b.get(w.page);
    expect(after.html).toMatch(/data-testid="invoice-credited">.*?−\$5\.00/s);
    expect(after.html).toMatch(/data-testid="invoice-amount-due">\s*\$55\.00/);
    const row = new RegExp(`<tr data-credit-note="${made[0].id}">(.*?)</tr>`, "s").exec(after.html)?.[1] ?? "";
    expect(text(row)).toContain(`${w.inv.number}-CN-01`);
    expect(text(row)).toContain("Duplicate charge");
    expect(text(row)).toContain("Charged twice");
    expect(text(row)).toContain("$5.00");
  });

  it("credits per line, with every problem next to its field in plain words, issuing nothing until it is right", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const b = new Browser();
    await b.signIn(acct.test);
    const post = (fields: Record<string, string>) => b.submit(`${w.page}/credit_notes/new`, `${w.page}/credit_notes`, { reason: "other", refund_to: "", ...fields });

    const unreadable = await post({ "line:0": "ten", "line:1": "€2" });
    expect(unreadable.status).toBe(400);
    expect(errorFor(unreadable.html, "line:0")).toBe("Type an amount such as 1250.50 (a currency sign and thousands separators are fine: $1,250.50)");
    expect(errorFor(unreadable.html, "line:1")).toBe("You typed €, but the currency is USD: change one of them");
    expect(unreadable.html).toContain('value="ten"');

    const over = await post({ "line:0": "1", "line:1": "10.01" });
    expect(over.status).toBe(400);
    expect(errorFor(over.html, "line:1")).toBe("At most 10.00 USD can still be credited on API calls");

    const both = await post({ amount: "1", "line:0": "1" });
    expect(both.status).toBe(400);
    expect(text(both.html)).toContain("Fill in the whole amount or the lines, not both.");
    const neither = await post({});
    expect(errorFor(neither.html, "amount")).toBe("Fill in the whole amount or the lines to credit");
    const grant = await post({ amount: "1", refund_to: "credit_grant" });
    expect(errorFor(grant.html, "refund_to")).toContain("leave refund_to out or give none");

    const review = await post({ "line:0": "$1,0", "line:1": "2.50" });
    expect(review.status, review.html).toBe(200);
    expect(text(review.html)).toContain("$3.50 on Platform fee ($1.00), API calls ($2.50)");
    expect(await notes(w.key, w.inv.id)).toEqual([]);
    const confirm = await b.request("POST", `${w.page}/credit_notes/confirm`, {
      _csrf: /name="_csrf" value="([^"]+)"/.exec(review.html)![1]!,
      _once: /name="_once" value="([^"]+)"/.exec(review.html)![1]!,
      reason: "other",
      refund_to: "",
      "line:0": "$1,0",
      "line:1": "2.50",
    });
    expect(confirm.status, confirm.html).toBe(303);
    expect((await notes(w.key, w.inv.id))[0]).toMatchObject({ amount: "3.50", lines: [{ amount: "1.00" }, { amount: "2.50" }] });
    // What is left of each line shows on the form from then on.
    expect(text((await b.get(`${w.page}/credit_notes/new`)).html)).toContain("API calls $7.50");
  });

  it("on a paid invoice asks where the money goes; a card refund needs Stripe; a credit grant is shown and issued", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    expect((await call("POST", `/v1/invoices/${w.inv.id}/mark_paid`, { key: w.key })).status).toBe(200);
    const b = new Browser();
    await b.signIn(acct.test);
    const post = (fields: Record<string, string>) => b.submit(`${w.page}/credit_notes/new`, `${w.page}/credit_notes`, { reason: "product_unsatisfactory", amount: "20", ...fields });
    expect(errorFor((await post({ refund_to: "" })).html, "refund_to")).toContain("The invoice is paid: say where the credit goes");
    const card = await post({ refund_to: "payment" });
    expect(card.status).toBe(409);
    // No Stripe here (and it was paid outside Stripe anyway): the reason shows next to the choice.
    expect(errorFor(card.html, "refund_to")).toBe("refund_to payment refunds through Stripe, and no Stripe key is set for test mode");
    const review = await post({ refund_to: "credit_grant" });
    expect(review.status, review.html).toBe(200);
    expect(text(review.html)).toContain("A promotional credit grant of $20.00 for the customer's next invoices");
    const done = await b.request("POST", `${w.page}/credit_notes/confirm`, {
      _csrf: /name="_csrf" value="([^"]+)"/.exec(review.html)![1]!,
      _once: /name="_once" value="([^"]+)"/.exec(review.html)![1]!,
      reason: "product_unsatisfactory",
      amount: "20",
      refund_to: "credit_grant",
    });
    expect(done.status, done.html).toBe(303);
    const [made] = await notes(w.key, w.inv.id);
    expect(made).toMatchObject({ refund_to: "credit_grant", grant_id: expect.any(String) });
    expect((await b.get(w.page)).html).toContain(`href="/dashboard/customers/${w.customer}#credits">Credit grant`);
  });

  it("are not offered on drafts, and another account's or mode's invoice is not found", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const b = new Browser();
    await b.signIn(acct.test);
    const draft = await b.get(`/dashboard/invoices/${w.draft.id}/credit_notes/new`);
    expect(draft.status).toBe(409);
    expect(text(draft.html)).toContain("Credit notes are issued on finalized or paid invoices; this one is draft");

    const other = await newAccount();
    const o = new Browser();
    await o.signIn(other.test);
    expect((await o.get(`${w.page}/credit_notes/new`)).status).toBe(404);
    const posted = await o.submit("/dashboard/customers", `${w.page}/credit_notes/confirm`, { amount: "1", reason: "other" });
    expect(posted.status).toBe(404);
    const live = new Browser();
    await live.signIn(acct.live);
    expect((await live.get(`${w.page}/credit_notes/new`)).status).toBe(404);
    expect(await notes(w.key, w.inv.id)).toEqual([]);
  });
});
