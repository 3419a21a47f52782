// The dashboard's credit pages through HTTP (SPEC §14, §15): the customer page's Credits section, "Grant credit",
// Adjust and Void behind their pages, the credit ledger, and isolation between accounts and modes.
import { describe, expect, it } from "vitest";
import { amountInput } from "../../src/dashboard/input";
import { call, newAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";

interface World {
  key: string;
  customer: string;
  page: string;
}

/** A customer on a $20-a-month plan (contract from today) with API calls at $0.10, in `currency`. */
async function world(key: string, currency = "USD"): Promise<World> {
  expect((await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "count" } })).status).toBe(201);
  const plan = await call("POST", "/v1/plans", {
    key,
    body: {
      name: "Usage",
      currency,
      prices: [
        { type: "fixed", name: "Platform fee", amount: "20.00" },
        { type: "usage", meter_code: "API", model: "per_unit", unit_price: "0.10" },
      ],
    },
  });
  expect(plan.status, JSON.stringify(plan.body)).toBe(201);
  const customer = await call("POST", "/v1/customers", { key, body: { name: "Ada Corp" } });
  expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id } })).status).toBe(201);
  return { key, customer: customer.body.id, page: `/dashboard/customers/${customer.body.id}` };
}

const apiGrant = async (w: World, body: Record<string, unknown> = {}) => {
  const res = await call("POST", `/v1/customers/${w.customer}/credit_grants`, { key: w.key, body: { name: "Launch credits", amount: "25.00", currency: "USD", type: "promotional", ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; customer_id: string };
};
const grants = async (w: World) => (await call("GET", `/v1/customers/${w.customer}/credit_grants`, { key: w.key })).body.data;
const grantOf = async (w: World, id: string) => (await call("GET", `/v1/credit_grants/${id}`, { key: w.key })).body;
const errorFor = (html: string, field: string) => new RegExp(`data-error-for="${field.replace(/[[\]]/g, "\\$&")}">([^<]*)<`).exec(html)?.[1];

describe("amounts as people type them", () => {
  it.each([
    ["10", "10"],
    ["$10", "10"],
    ["10.50", "10.50"],
    ["$1,250.50", "1250.50"],
    ["1,000", "1000"],
    ["10,00", "10.00"],
    ["10,5", "10.5"],
    ["1.250,50 €", "1250.50"],
    ["1 250,50", "1250.50"],
    ["1'250.50", "1250.50"],
    ["USD 99", "99"],
    ["99 usd", "99"],
    [".5", "0.5"],
    ["1.000.000", "1000000"],
  ])("%s → %s", (typed, value) => {
    const currency = typed.includes("€") ? "EUR" : "USD";
    expect(amountInput(typed, { currency })).toEqual({ ok: true, value });
  });

  it("reads a sign only where one is allowed, and refuses what it cannot read for sure", () => {
    expect(amountInput("-$5", { currency: "USD", signed: true })).toEqual({ ok: true, value: "-5" });
    expect(amountInput("$-5.00", { currency: "USD", signed: true })).toEqual({ ok: true, value: "-5.00" });
    expect(amountInput("−5", { signed: true })).toEqual({ ok: true, value: "-5" });
    expect(amountInput("-5", { currency: "USD" })).toEqual({ ok: false, message: "must be a positive amount" });
    expect(amountInput("0.00", { signed: true }).ok).toBe(false);
    expect(amountInput("€10", { currency: "USD" })).toEqual({ ok: false, message: "You typed €, but the currency is USD: change one of them" });
    expect(amountInput("10 EUR", { currency: "USD" }).ok).toBe(false);
    // One dot before three digits is 1 to the API and 1000 to anyone who groups with dots: refused in cents currencies.
    expect(amountInput("1.000", { currency: "USD" })).toEqual({ ok: false, message: "1.000 could mean 1 or 1000: type it without the dot, or with two decimals" });
    expect(amountInput("1.000", { currency: "KWD" })).toEqual({ ok: true, value: "1.000" });
    for (const bad of ["ten", "", "1,2,3", "1.2.3", "12,34,567", "$", "1e5", "0x10"]) expect(amountInput(bad, { currency: "USD" }).ok, bad).toBe(false);
  });
});

describe("dashboard credits", () => {
  it("shows a grant the API created, its balance after the open draft, and the ledger, on the customer page", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const g = await apiGrant(w, { priority: 10, expires_at: "2030-01-01" });
    const b = new Browser();
    await b.signIn(acct.test);
    const page = await b.get(w.page);
    expect(page.status).toBe(200);
    // The $20 platform fee of the current draft is covered at once: $5.00 of $25.00 is left to spend.
    expect(page.html).toContain('data-testid="credit-available-USD"><strong>$5.00</strong>');
    const row = new RegExp(`<tr data-grant="${g.id}">(.*?)</tr>`, "s").exec(page.html)?.[1] ?? "";
    expect(row).toContain("Launch credits");
    expect(row).toContain("promotional");
    expect(row).toContain(">active<");
    expect(row).toContain("$25.00");
    expect(row).toContain('data-testid="grant-available">$5.00');
    expect(row).toContain("→ 2030-01-01");
    expect(row).toContain("every line");
    expect(row).toContain(`href="${w.page}/credit_grants/${g.id}/void"`);
    expect(page.html).toMatch(/<tr data-entry="granted">.*?Launch credits.*?\+\$25\.00.*?\$25\.00/s);
    expect(page.html).toContain(`href="${w.page}/credit_ledger"`);
    // The draft's own page shows the credit under its total, and what is left to pay.
    const draft = (await call("GET", `/v1/customers/${w.customer}/upcoming_invoice`, { key: w.key })).body;
    const invoicePage = await b.get(`/dashboard/invoices/${draft.id}`);
    expect(invoicePage.html).toMatch(new RegExp(`data-testid="invoice-credit">.*?${g.id}.*?−\\$20\\.00`, "s"));
    expect(invoicePage.html).toMatch(/data-testid="invoice-amount-due">\s*\$0\.00/);
  });

  it("grants credit through the form (as the API does), defaulting to the contract's currency, and acts once", async () => {
    const acct = await newAccount();
    const w = await world(acct.test, "EUR");
    const b = new Browser();
    await b.signIn(acct.test);
    const form = await b.get(`${w.page}/credit_grants/new`);
    expect(form.status).toBe(200);
    expect(form.html).toContain('name="currency" type="text" value="EUR"');
    expect(form.html).toContain('name="meter:API"');

    const fields = { name: "Welcome", type: "promotional", amount: "€1.250,50", currency: "EUR", priority: "5", expires_at: "2030-06-01", "meter:API": "on" };
    const tokens = await b.formTokens(`${w.page}/credit_grants/new`);
    const created = await b.request("POST", `${w.page}/credit_grants`, { ...tokens, ...fields });
    expect(created.status, created.html).toBe(303);
    expect(created.location).toBe(`${w.page}#credits`);
    // A double submit gets the same answer and grants nothing more.
    const again = await b.request("POST", `${w.page}/credit_grants`, { ...tokens, ...fields });
    expect(again.status).toBe(303);
    const all = await grants(w);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({
      name: "Welcome",
      type: "promotional",
      amount: "1250.50",
      currency: "EUR",
      priority: 5,
      expires_at: "2030-06-01T00:00:00Z",
      applies_to: { meter_codes: ["API"] },
      status: "active",
      livemode: false,
    });
    // Scoped to API calls, it leaves the platform fee alone.
    expect((await b.get(w.page)).html).toContain('data-testid="credit-available-EUR"><strong>€1,250.50</strong>');

    // Prepaid: a purchase invoice at the purchase price; the grant waits for it to be paid.
    const prepaid = await b.submit(`${w.page}/credit_grants/new`, `${w.page}/credit_grants`, { name: "Bought", type: "prepaid", amount: "100", purchase_price: "€80", currency: "eur" });
    expect(prepaid.status, prepaid.html).toBe(303);
    const bought = (await grants(w)).find((g: any) => g.name === "Bought");
    expect(bought).toMatchObject({ status: "pending_payment", purchase_price: "80.00", currency: "EUR" });
    const page = (await b.get(w.page)).html;
    expect(page).toContain(`href="/dashboard/invoices/${bought.invoice_id}"`);
    expect(page).toContain("1 prepaid grant waits for its purchase invoice to be paid.");
  });

  it("shows every problem of the grant form next to its field, in plain words, keeps what was typed and creates nothing", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const b = new Browser();
    await b.signIn(acct.test);
    const bad = await b.submit(`${w.page}/credit_grants/new`, `${w.page}/credit_grants`, {
      name: "",
      type: "promotional",
      amount: "ten dollars",
      currency: "USD",
      priority: "500",
      effective_at: "next week",
    });
    expect(bad.status).toBe(400);
    expect(errorFor(bad.html, "amount")).toBe("Type an amount such as 1250.50 (a currency sign and thousands separators are fine: $1,250.50)");
    expect(errorFor(bad.html, "name")).toBeDefined();
    expect(errorFor(bad.html, "priority")).toBeDefined();
    expect(errorFor(bad.html, "effective_at")).toBe("must be a date such as 2026-03-31");
    expect(bad.html).toContain('value="ten dollars"');
    expect(bad.html).toContain("test-mode-indicator");

    const other = await b.submit(`${w.page}/credit_grants/new`, `${w.page}/credit_grants`, { name: "X", type: "promotional", amount: "€10", currency: "USD", purchase_price: "5" });
    expect(other.status).toBe(400);
    expect(errorFor(other.html, "amount")).toBe("You typed €, but the currency is USD: change one of them");
    const dots = await b.submit(`${w.page}/credit_grants/new`, `${w.page}/credit_grants`, { name: "X", type: "promotional", amount: "1.000", currency: "USD" });
    expect(errorFor(dots.html, "amount")).toContain("could mean 1 or 1000");
    const currency = await b.submit(`${w.page}/credit_grants/new`, `${w.page}/credit_grants`, { name: "X", type: "promotional", amount: "10", currency: "dollars" });
    expect(errorFor(currency.html, "currency")).toContain("is not a currency code");

    // The service's own refusals land next to their fields too.
    const promo = await b.submit(`${w.page}/credit_grants/new`, `${w.page}/credit_grants`, { name: "X", type: "promotional", amount: "10", currency: "USD", purchase_price: "5" });
    expect(promo.status).toBe(400);
    expect(errorFor(promo.html, "purchase_price")).toContain("only prepaid credit has a purchase price");
    const backwards = await b.submit(`${w.page}/credit_grants/new`, `${w.page}/credit_grants`, { name: "X", type: "promotional", amount: "10", currency: "USD", effective_at: "2030-01-01", expires_at: "2029-01-01" });
    expect(errorFor(backwards.html, "expires_at")).toBe("must be after the effective date (today when that is empty)");
    expect(await grants(w)).toEqual([]);
  });

  it("voids a grant through its confirmation page; the open draft reprices without it", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const g = await apiGrant(w);
    const b = new Browser();
    await b.signIn(acct.test);
    const voidPage = `${w.page}/credit_grants/${g.id}/void`;
    const confirm = await b.get(voidPage);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain("Void the grant Launch credits?");
    expect((await grantOf(w, g.id)).status).toBe("active");
    // Without the CSRF token nothing happens.
    expect((await b.request("POST", voidPage, {})).status).toBe(403);
    expect((await grantOf(w, g.id)).status).toBe("active");

    const done = await b.submit(voidPage, voidPage, {});
    expect(done.status, done.html).toBe(303);
    expect(done.location).toBe(`${w.page}#credits`);
    expect(await grantOf(w, g.id)).toMatchObject({ status: "voided", balance: "0.00", available: "0.00" });
    const draft = (await call("GET", `/v1/invoices?customer_id=${w.customer}`, { key: w.key })).body.data[0];
    expect(draft).toMatchObject({ status: "draft", amount_due: "20.00" });
    const page = (await b.get(w.page)).html;
    expect(page).toContain("No credit to spend.");
    expect(page).not.toContain(`${voidPage}"`);
    // A second void (an old tab) says why, in the API's words.
    const twice = await b.submit(w.page, voidPage, {});
    expect(twice.status).toBe(409);
    expect(twice.html).toContain("A voided grant cannot be voided");
  });

  it("adjusts a grant with a signed amount and a reason; refusals next to the fields", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const g = await apiGrant(w);
    const b = new Browser();
    await b.signIn(acct.test);
    const adjust = `${w.page}/credit_grants/${g.id}/adjust`;
    expect((await b.get(adjust)).html).toContain("Adjust Launch credits");

    const empty = await b.submit(adjust, adjust, { amount: "0", reason: "" });
    expect(empty.status).toBe(400);
    expect(errorFor(empty.html, "amount")).toContain("must not be zero");
    expect(errorFor(empty.html, "reason")).toBe("required");
    const tooMuch = await b.submit(adjust, adjust, { amount: "-$30", reason: "typo" });
    expect(tooMuch.status).toBe(409);
    expect(errorFor(tooMuch.html, "amount")).toContain("cannot take it below 0");

    const taken = await b.submit(adjust, adjust, { amount: "-$5", reason: "Billing typo" });
    expect(taken.status, taken.html).toBe(303);
    expect(await grantOf(w, g.id)).toMatchObject({ balance: "20.00", available: "0.00", status: "depleted" });
    const added = await b.submit(adjust, adjust, { amount: "+12.50", reason: "Goodwill for the outage" });
    expect(added.status).toBe(303);
    expect(await grantOf(w, g.id)).toMatchObject({ balance: "32.50", available: "12.50", status: "active" });
    const page = (await b.get(w.page)).html;
    expect(page).toMatch(/<tr data-entry="adjusted">.*?-\$5\.00.*?\$20\.00.*?Billing typo/s);
    expect(page).toMatch(/<tr data-entry="adjusted">.*?\+\$12\.50.*?\$32\.50.*?Goodwill for the outage/s);
  });

  it("lists the whole credit ledger, newest first, a page at a time, for one grant or all", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const first = await apiGrant(w, { name: "First" });
    const second = await apiGrant(w, { name: "Second", amount: "100.00" });
    for (let i = 1; i <= 20; i++) {
      const res = await call("POST", `/v1/credit_grants/${second.id}/adjust`, { key: w.key, body: { amount: "1.00", reason: `step ${i}` } });
      expect(res.status).toBe(200);
    }
    const b = new Browser();
    await b.signIn(acct.test);
    const ledger = `${w.page}/credit_ledger`;
    const page1 = await b.get(ledger);
    expect(page1.status).toBe(200);
    const rows = (html: string) => [...html.matchAll(/<tr data-entry="([a-z]+)">/g)].map((m) => m[1]);
    // 22 entries: two grants and 20 adjustments; 20 on the first page, newest first.
    expect(rows(page1.html)).toEqual(Array(20).fill("adjusted"));
    expect(page1.html).toContain("step 20");
    const next = /href="([^"]*credit_ledger\?cursor=[^"]+)"/.exec(page1.html)?.[1]?.replace(/&amp;/g, "&");
    expect(next).toBeDefined();
    const page2 = await b.get(next!);
    expect(rows(page2.html)).toEqual(["granted", "granted"]);
    expect(page2.html).not.toContain("Next page");
    // One grant's entries only.
    const only = await b.get(`${ledger}?grant_id=${first.id}`);
    expect(rows(only.html)).toEqual(["granted"]);
    expect(only.html).toContain("First");
    expect((await b.get(`${ledger}?cursor=garbage`)).status).toBe(400);
  });

  it("keeps another account's grants out of reach: every page and action is a 404 and changes nothing", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const g = await apiGrant(w);
    const strangerAcct = await newAccount("Other");
    const s = await world(strangerAcct.test);
    const b = new Browser();
    await b.signIn(strangerAcct.test);
    const own = `/dashboard/customers/${s.customer}`;
    for (const path of [w.page, `${w.page}/credit_ledger`, `${w.page}/credit_grants/new`, `${w.page}/credit_grants/${g.id}/void`, `${w.page}/credit_grants/${g.id}/adjust`,
      // The grant under the stranger's own customer is not found either.
      `${own}/credit_grants/${g.id}/void`, `${own}/credit_grants/${g.id}/adjust`]) {
      const res = await b.get(path);
      expect(res.status, path).toBe(404);
      expect(res.html).not.toContain("Launch credits");
    }
    for (const [path, fields] of [
      [`${w.page}/credit_grants/${g.id}/void`, {}],
      [`${own}/credit_grants/${g.id}/void`, {}],
      [`${w.page}/credit_grants/${g.id}/adjust`, { amount: "-25", reason: "taken" }],
      [`${own}/credit_grants/${g.id}/adjust`, { amount: "-25", reason: "taken" }],
      [`${w.page}/credit_grants`, { name: "Free money", type: "promotional", amount: "1000", currency: "USD" }],
    ] as const) {
      expect((await b.submit(own, path, fields)).status, path).toBe(404);
    }
    expect(await grantOf(w, g.id)).toMatchObject({ status: "active", balance: "25.00" });
    expect(await grants(w)).toHaveLength(1);
  });

  it("keeps test and live credit apart: a test session cannot see or act on a live grant; the live session can", async () => {
    const acct = await newAccount();
    const live = await world(acct.live);
    const g = await apiGrant(live, { name: "Live credits" });
    const t = new Browser();
    await t.signIn(acct.test);
    const voidPage = `${live.page}/credit_grants/${g.id}/void`;
    for (const path of [live.page, `${live.page}/credit_ledger`, voidPage]) expect((await t.get(path)).status, path).toBe(404);
    expect((await t.submit("/dashboard/customers", voidPage, {})).status).toBe(404);
    expect((await grantOf(live, g.id)).status).toBe("active");

    const l = new Browser();
    await l.signIn(acct.live);
    const page = await l.get(live.page);
    expect(page.html).toContain("Live credits");
    expect(page.html).not.toContain("test-mode-indicator");
    expect((await l.submit(voidPage, voidPage, {})).status).toBe(303);
    expect((await grantOf(live, g.id)).status).toBe("voided");
  });
});
