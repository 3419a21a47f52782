// The dashboard's alert pages through HTTP (SPEC §14, §16): the list with paging, "New alert" (as the API creates it,
// with every problem next to its field), an alert's page and Archive behind its confirmation, the customer page's
// Alerts section (state, value against threshold, entitlements), and isolation between accounts and modes.
import { describe, expect, it } from "vitest";
import { call, newAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";

interface World {
  key: string;
  customer: string;
  page: string;
}

/** A customer on a $20-a-month plan (contract from today) with API calls at $1.00 each. */
async function world(key: string): Promise<World> {
  expect((await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "count" } })).status).toBe(201);
  const plan = await call("POST", "/v1/plans", {
    key,
    body: { name: "Usage", prices: [{ type: "fixed", name: "Fee", amount: "20.00" }, { type: "usage", meter_code: "API", model: "per_unit", unit_price: "1.00" }] },
  });
  expect(plan.status, JSON.stringify(plan.body)).toBe(201);
  const customer = await call("POST", "/v1/customers", { key, body: { name: "Ada Corp" } });
  expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id } })).status).toBe(201);
  return { key, customer: customer.body.id, page: `/dashboard/customers/${customer.body.id}` };
}

const apiAlert = async (key: string, body: Record<string, unknown>) => {
  const res = await call("POST", "/v1/alerts", { key, body: { name: "Alert", ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string };
};
const alerts = async (key: string) => (await call("GET", "/v1/alerts", { key })).body.data;
const send = async (w: World) => {
  const res = await call("POST", "/v1/events", { key: w.key, body: { customer_id: w.customer, event_name: "api_call", idempotency_key: crypto.randomUUID() } });
  expect(res.status).toBe(202);
  return res.body;
};
const errorFor = (html: string, field: string) => new RegExp(`data-error-for="${field}">([^<]*)<`).exec(html)?.[1];
const rowOf = (html: string, attr: string, id: string) => new RegExp(`<tr data-${attr}="${id}"[^>]*>(.*?)</tr>`, "s").exec(html)?.[0] ?? "";

describe("dashboard alerts", () => {
  it("lists alerts and creates one through the form, as the API does, once", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const wide = await apiAlert(w.key, { name: "Big spender", type: "spend", threshold: "500" });
    const b = new Browser();
    await b.signIn(acct.test);
    const list = await b.get("/dashboard/alerts");
    expect(list.status).toBe(200);
    expect(list.html).toContain('href="/dashboard/alerts" class="active">Alerts</a>');
    const row = rowOf(list.html, "alert", wide.id);
    expect(row).toContain("Big spender");
    expect(row).toContain("Spend");
    expect(row).toContain("500");
    expect(row).toContain("every customer");

    const form = await b.get("/dashboard/alerts/new");
    expect(form.status).toBe(200);
    expect(form.html).toContain('<option value="API">API calls (API)</option>');
    expect(form.html).toContain(`<option value="${w.customer}">Ada Corp</option>`);

    const fields = { name: "Free tier", type: "usage", threshold: "1,000", meter_code: "API", customer_id: w.customer, enforce: "on" };
    const tokens = await b.formTokens("/dashboard/alerts/new");
    const created = await b.request("POST", "/dashboard/alerts", { ...tokens, ...fields });
    expect(created.status, created.html).toBe(303);
    // A double submit gets the same answer and creates nothing more.
    const again = await b.request("POST", "/dashboard/alerts", { ...tokens, ...fields });
    expect(again.status).toBe(303);
    expect(again.location).toBe(created.location);
    const all = await alerts(w.key);
    expect(all).toHaveLength(2);
    const made = all.find((a: any) => a.name === "Free tier");
    expect(made).toMatchObject({ type: "usage", threshold: "1000", meter_code: "API", customer_id: w.customer, enforce: true, livemode: false });
    expect(created.location).toBe(`/dashboard/alerts/${made.id}`);
    const madeRow = rowOf((await b.get("/dashboard/alerts")).html, "alert", made.id);
    expect(madeRow).toContain(`href="${w.page}">Ada Corp</a>`);
    expect(madeRow).toContain("1,000");
    expect(madeRow).toContain("Yes");

    // An amount in the customer's plan currency, as typed; the hidden meter and enforce fields of a spend alert are left out.
    const spend = await b.submit("/dashboard/alerts/new", "/dashboard/alerts", { name: "Spend", type: "spend", threshold: "$1,250.50", customer_id: w.customer, meter_code: "API", enforce: "on" });
    expect(spend.status, spend.html).toBe(303);
    expect((await alerts(w.key)).find((a: any) => a.name === "Spend")).toMatchObject({ type: "spend", threshold: "1250.50", meter_code: null, enforce: false });
    const wrong = await b.submit("/dashboard/alerts/new", "/dashboard/alerts", { name: "Euro", type: "spend", threshold: "€100", customer_id: w.customer });
    expect(wrong.status).toBe(400);
    expect(errorFor(wrong.html, "threshold")).toBe("You typed €, but the currency is USD: change one of them");
    // Filtered to one customer: its own alerts only.
    const own = await b.get(`/dashboard/alerts?customer_id=${w.customer}`);
    expect(own.html).toContain(`data-alert="${made.id}"`);
    expect(own.html).not.toContain(`data-alert="${wide.id}"`);
  });

  it("pages through alerts, newest first", async () => {
    const acct = await newAccount();
    const ids: string[] = [];
    for (let i = 1; i <= 21; i++) ids.push((await apiAlert(acct.test, { name: `Alert ${i}`, type: "spend", threshold: String(i) })).id);
    const b = new Browser();
    await b.signIn(acct.test);
    const rows = (html: string) => [...html.matchAll(/<tr data-alert="([^"]+)"/g)].map((m) => m[1]);
    const page1 = await b.get("/dashboard/alerts");
    expect(rows(page1.html)).toHaveLength(20);
    expect(rows(page1.html)).not.toContain(ids[0]);
    const next = /href="(\/dashboard\/alerts\?cursor=[^"]+)"/.exec(page1.html)?.[1]?.replace(/&amp;/g, "&");
    expect(next).toBeDefined();
    const page2 = await b.get(next!);
    expect(rows(page2.html)).toEqual([ids[0]]);
    expect(page2.html).not.toContain("Next page");
    expect((await b.get("/dashboard/alerts?cursor=garbage")).status).toBe(400);
  });

  it("shows every problem of the form next to its field, in plain words, keeps what was typed and creates nothing", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const b = new Browser();
    await b.signIn(acct.test);
    const bad = await b.submit("/dashboard/alerts/new", "/dashboard/alerts", { name: "", type: "usage", threshold: "lots", meter_code: "", customer_id: "" });
    expect(bad.status).toBe(400);
    expect(errorFor(bad.html, "name")).toBe("required");
    expect(errorFor(bad.html, "threshold")).toBe("Type a number such as 1000 (thousands separators are fine: 1,000,000)");
    expect(errorFor(bad.html, "meter_code")).toBe("Choose the meter this usage alert watches");
    expect(bad.html).toContain('value="lots"');
    expect(bad.html).toContain("test-mode-indicator");

    const negative = await b.submit("/dashboard/alerts/new", "/dashboard/alerts", { name: "X", type: "usage", threshold: "-5", meter_code: "API" });
    expect(errorFor(negative.html, "threshold")).toBe("must be 0 or more");
    const empty = await b.submit("/dashboard/alerts/new", "/dashboard/alerts", { name: "X", type: "spend", threshold: "" });
    expect(errorFor(empty.html, "threshold")).toBe("required");
    const dots = await b.submit("/dashboard/alerts/new", "/dashboard/alerts", { name: "X", type: "usage", threshold: "1.000", meter_code: "API" });
    expect(errorFor(dots.html, "threshold")).toContain("could mean 1 or 1000");
    // The service's own refusals land next to their fields too.
    const meter = await b.submit("/dashboard/alerts/new", "/dashboard/alerts", { name: "X", type: "usage", threshold: "10", meter_code: "NOPE" });
    expect(meter.status).toBe(404);
    expect(errorFor(meter.html, "meter_code")).toBe("No meter with code NOPE: choose one of your meters");
    const customer = await b.submit("/dashboard/alerts/new", "/dashboard/alerts", { name: "X", type: "spend", threshold: "10", customer_id: "cus_nobody" });
    expect(errorFor(customer.html, "customer_id")).toBe("No such customer: choose one from the list, or every customer");
    expect(await alerts(w.key)).toEqual([]);
  });

  it("shows an alert's page with its state, and archives it through the confirmation page", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const a = await apiAlert(w.key, { name: "Three calls", type: "usage", meter_code: "API", threshold: "3", customer_id: w.customer });
    const b = new Browser();
    await b.signIn(acct.test);
    const path = `/dashboard/alerts/${a.id}`;
    const page = await b.get(path);
    expect(page.status).toBe(200);
    expect(page.html).toContain("Fires when API calls this period reach 3.");
    expect(page.html).toContain(`href="${w.page}">Ada Corp</a>`);
    expect(page.html).toMatch(/data-testid="alert-state">.*?class="badge active">ok<.*?0 of 3.*?never/s);
    for (let i = 0; i < 3; i++) await send(w);
    expect((await b.get(path)).html).toMatch(/data-testid="alert-state">.*?class="badge alarm">in alarm<.*?3 of 3.*?\d{4}-\d\d-\d\d \d\d:\d\d UTC/s);

    const confirm = await b.get(`${path}/archive`);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain("Archive the alert Three calls?");
    // Without the CSRF token nothing happens.
    expect((await b.request("POST", `${path}/archive`, {})).status).toBe(403);
    expect((await call("GET", `/v1/alerts/${a.id}`, { key: w.key })).status).toBe(200);
    const done = await b.submit(`${path}/archive`, `${path}/archive`, {});
    expect(done.status, done.html).toBe(303);
    expect(done.location).toBe("/dashboard/alerts");
    expect((await call("GET", `/v1/alerts/${a.id}`, { key: w.key })).status).toBe(404);
    expect((await b.get(path)).status).toBe(404);
    expect((await b.get("/dashboard/alerts")).html).not.toContain(a.id);
    expect((await b.get(w.page)).html).not.toContain("Three calls");
    // An old tab's second archive is a 404.
    expect((await b.submit(w.page, `${path}/archive`, {})).status).toBe(404);
  });

  it("shows on the customer page which alerts are in alarm, value against threshold, and the entitlements", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const usage = await apiAlert(w.key, { name: "Three calls", type: "usage", meter_code: "API", threshold: "3", customer_id: w.customer, enforce: true });
    const spend = await apiAlert(w.key, { name: "Big spender", type: "spend", threshold: "1000" });
    const b = new Browser();
    await b.signIn(acct.test);
    const before = (await b.get(w.page)).html;
    expect(before).toContain('<h2 id="alerts">Alerts</h2>');
    expect(before).toContain(`href="/dashboard/alerts/new?customer_id=${w.customer}"`);
    expect(rowOf(before, "alert", usage.id)).toContain('data-status="ok"');
    expect(rowOf(before, "entitlement", usage.id)).toMatch(/API<\/a>.*?>3<.*?>0<.*?>3<.*?>yes</s);

    expect((await send(w)).alerts_triggered).toEqual([]);
    expect((await send(w)).alerts_triggered).toEqual([]);
    expect((await send(w)).alerts_triggered).toEqual([{ alert_id: usage.id, customer_id: w.customer }]);
    const after = await b.get(w.page);
    expect(after.status).toBe(200);
    const alarm = rowOf(after.html, "alert", usage.id);
    expect(alarm).toContain('data-status="in_alarm"');
    expect(alarm).toContain('class="badge alarm">in alarm</span>');
    expect(alarm).toMatch(/Three calls.*?Usage.*?API.*?>3<.*?>3<.*?\d{4}-\d\d-\d\d \d\d:\d\d UTC/s);
    // The account-wide spend alert applies too, in the plan's currency: $20 fee + 3 calls.
    const ok = rowOf(after.html, "alert", spend.id);
    expect(ok).toContain('data-status="ok"');
    expect(ok).toMatch(/Big spender.*?\$23\.00.*?\$1,000\.00.*?never/s);
    expect(after.html).toContain("2 alerts apply (its own and those for every customer); 1 in alarm.");
    expect(rowOf(after.html, "entitlement", usage.id)).toMatch(/API<\/a>.*?>3<.*?>3<.*?>0<.*?class="badge alarm">no</s);

    // The link pre-fills the customer.
    const form = await b.get(`/dashboard/alerts/new?customer_id=${w.customer}`);
    expect(form.status).toBe(200);
    expect(form.html).toMatch(new RegExp(`<option value="${w.customer}" selected`));
    expect(form.html).toContain(`<a href="${w.page}">Cancel</a>`);
  });

  it("keeps another account's alerts out of reach: its pages are a 404 and archiving changes nothing", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const a = await apiAlert(w.key, { name: "Secret alert", type: "usage", meter_code: "API", threshold: "3", customer_id: w.customer });
    const strangerAcct = await newAccount("Other");
    const s = await world(strangerAcct.test);
    const b = new Browser();
    await b.signIn(strangerAcct.test);
    for (const path of [`/dashboard/alerts/${a.id}`, `/dashboard/alerts/${a.id}/archive`, `/dashboard/alerts/new?customer_id=${w.customer}`]) {
      const res = await b.get(path);
      expect(res.status, path).toBe(404);
      expect(res.html).not.toContain("Secret alert");
    }
    expect((await b.get("/dashboard/alerts")).html).not.toContain("Secret alert");
    expect((await b.submit("/dashboard/alerts", `/dashboard/alerts/${a.id}/archive`, {})).status).toBe(404);
    expect((await call("GET", `/v1/alerts/${a.id}`, { key: w.key })).status).toBe(200);
    // Nor can it watch the other account's customer.
    const theirs = await b.submit("/dashboard/alerts/new", "/dashboard/alerts", { name: "Spy", type: "spend", threshold: "1", customer_id: w.customer });
    expect(theirs.status).toBe(404);
    expect(errorFor(theirs.html, "customer_id")).toBeDefined();
    expect(await alerts(s.key)).toEqual([]);
    expect(await alerts(w.key)).toHaveLength(1);
  });

  it("keeps test and live alerts apart: a test session cannot see or archive a live alert; the live session can", async () => {
    const acct = await newAccount();
    const live = await world(acct.live);
    const a = await apiAlert(live.key, { name: "Live alert", type: "usage", meter_code: "API", threshold: "3", customer_id: live.customer });
    const t = new Browser();
    await t.signIn(acct.test);
    expect((await t.get("/dashboard/alerts")).html).not.toContain("Live alert");
    for (const path of [`/dashboard/alerts/${a.id}`, `/dashboard/alerts/${a.id}/archive`]) expect((await t.get(path)).status, path).toBe(404);
    expect((await t.submit("/dashboard/alerts", `/dashboard/alerts/${a.id}/archive`, {})).status).toBe(404);
    expect((await call("GET", `/v1/alerts/${a.id}`, { key: live.key })).status).toBe(200);

    const l = new Browser();
    await l.signIn(acct.live);
    const list = await l.get("/dashboard/alerts");
    expect(list.html).toContain("Live alert");
    expect(list.html).not.toContain("test-mode-indicator");
    expect(rowOf((await l.get(live.page)).html, "alert", a.id)).toContain('data-status="ok"');
    const path = `/dashboard/alerts/${a.id}/archive`;
    expect((await l.submit(path, path, {})).status).toBe(303);
    expect((await call("GET", `/v1/alerts/${a.id}`, { key: live.key })).status).toBe(404);
  });
});
