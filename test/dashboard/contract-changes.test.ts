// The dashboard's contract changes through HTTP (SPEC §17): Change plan behind its review page, Pause and Resume, the
// contract page's overrides, links and History, errors next to their fields, and isolation between accounts.
import { describe, expect, it } from "vitest";
import { call, newAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
/** What a datetime-local field sends: the wall time without a zone. */
const local = (ms: number) => new Date(ms).toISOString().slice(0, 16);
const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
const errorFor = (html: string, field: string) => {
  const m = new RegExp(`data-error-for="${field.replace(/[[\]]/g, "\\$&")}">([^<]*)<`).exec(html);
  return m ? unescape(m[1]!) : undefined;
};

/** The fields of the page's form that posts to `action`, as the browser would send them (its first submit button not pressed). */
function formFields(html: string, action: string): Record<string, string> {
  const form = new RegExp(`<form method="post" action="${action}">(.*?)</form>`, "s").exec(html)?.[1];
  expect(form, `no form posting to ${action}`).toBeTruthy();
  const out: Record<string, string> = {};
  for (const m of form!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) out[unescape(m[1]!)] = unescape(m[2]!);
  return out;
}

interface World {
  key: string;
  customer: string;
  contract: string;
  start: number;
  basic: { id: string; prices: { id: string }[] };
  pro: { id: string; prices: { id: string }[] };
}

/** A customer on Basic ($20 + $0.10 a call) since two days ago; Pro ($50 + $0.08 a call) to change to. */
async function world(key: string, overrides?: (basic: { prices: { id: string }[] }) => unknown[]): Promise<World> {
  expect((await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "count" } })).status).toBe(201);
  const plan = async (name: string, fee: string, unit: string) => {
    const res = await call("POST", "/v1/plans", {
      key,
      body: { name, currency: "USD", prices: [{ type: "fixed", name: "Platform fee", amount: fee }, { type: "usage", meter_code: "API", model: "per_unit", unit_price: unit }] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };
  const basic = await plan("Basic", "20.00", "0.10");
  const pro = await plan("Pro", "50.00", "0.08");
  const customer = await call("POST", "/v1/customers", { key, body: { name: "Ada Corp" } });
  const start = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
  const contract = await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: basic.id, start_date: iso(start), overrides: overrides?.(basic) } });
  expect(contract.status, JSON.stringify(contract.body)).toBe(201);
  return { key, customer: customer.body.id, contract: contract.body.id, start, basic, pro };
}

const contractOf = async (w: World, id: string) => (await call("GET", `/v1/contracts/${id}`, { key: w.key })).body;
const page = (id: string) => `/dashboard/contracts/${id}`;

/** Fills the Change-plan form of `planId` and sends it: the review page (or the form again with errors). */
async function review(b: Browser, w: World, planId: string, fields: Record<string, string>) {
  const form = `${page(w.contract)}/change?plan_id=${planId}`;
  return b.submit(form, `${page(w.contract)}/change`, { plan_id: planId, when: "now", proration: "prorate", ...fields });
}

describe("dashboard contract changes", () => {
  it("changes the plan through the form and its review page, with an override; the API and History show both contracts", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const b = new Browser();
    await b.signIn(acct.test);
    const before = await b.get(page(w.contract));
    expect(before.html).toContain(`href="${page(w.contract)}/change"`);
    expect(before.html).toContain(`href="${page(w.contract)}/pause"`);
    expect(before.html).not.toContain(`href="${page(w.contract)}/resume"`);

    // The picker tells plans apart by name, version, currency and interval; choosing one shows its prices' terms.
    const picker = await b.get(`${page(w.contract)}/change`);
    expect(picker.status).toBe(200);
    expect(picker.html).toContain("Pro v1 · USD · monthly");
    expect(picker.html).toContain("Basic v1 · USD · monthly (current)");
    const form = await b.get(`${page(w.contract)}/change?plan_id=${w.pro.id}`);
    expect(form.html).toContain('name="override[1].unit_price"');
    expect(form.html).toContain('name="override[0].amount"');
    expect(form.html).toContain("read as UTC");

    const reviewed = await review(b, w, w.pro.id, { "override[1].unit_price": "0.05" });
    expect(reviewed.status, reviewed.html).toBe(200);
    expect(reviewed.html).toContain('data-testid="change-summary"');
    expect(reviewed.html).toMatch(/Basic v1 · USD · monthly ends at <strong>now/);
    expect(reviewed.html).toContain("Fixed fees and minimum spend of both partial periods are charged for the share");
    expect(reviewed.html).toMatch(/data-testid="change-overrides"><div>API calls: unit price 0.05/);
    // Reviewing changed nothing yet.
    expect((await contractOf(w, w.contract)).next_contract_id).toBeNull();

    const fields = formFields(reviewed.html, `${page(w.contract)}/change/confirm`);
    // "Edit" goes back to the form as filled in.
    const edit = await b.request("POST", `${page(w.contract)}/change/confirm`, { ...fields, edit: "1" });
    expect(edit.status).toBe(200);
    expect(edit.html).toContain('name="override[1].unit_price" type="text" value="0.05"');
    expect((await contractOf(w, w.contract)).next_contract_id).toBeNull();
    const done = await b.request("POST", `${page(w.contract)}/change/confirm`, fields);
    expect(done.status, done.html).toBe(303);
    const next = /\/dashboard\/contracts\/([0-9a-f-]{36})$/.exec(done.location ?? "")?.[1];
    expect(next).toBeTruthy();
    // A second press of the same button acts once.
    expect((await b.request("POST", `${page(w.contract)}/change/confirm`, fields)).location).toBe(done.location);

    const ended = await contractOf(w, w.contract);
    expect(ended).toMatchObject({ status: "ended", next_contract_id: next, proration: { start: null, end: "prorate" } });
    const started = await contractOf(w, next!);
    expect(started).toMatchObject({
      status: "active",
      plan_id: w.pro.id,
      previous_contract_id: w.contract,
      start_date: ended.end_date,
      proration: { start: "prorate", end: null },
      overrides: [{ price_id: w.pro.prices[1]!.id, unit_price: "0.05" }],
    });

    const newPage = (await b.get(page(next!))).html;
    expect(newPage).toMatch(new RegExp(`data-testid="contract-previous">Replaced contract <a href="${page(w.contract)}"`));
    expect(newPage).toMatch(/<tr data-override="[^"]+"><td>API calls<\/td><td>unit price<\/td><td>API calls: \$0.05 \/ API call<\/td>/);
    const history = /data-testid="contract-history">(.*?)<\/table>/s.exec(newPage)?.[1] ?? "";
    expect(history).toMatch(new RegExp(`data-history="started" data-contract="${w.contract}">.*?Started on <strong>Basic v1</strong>`, "s"));
    expect(history).toMatch(new RegExp(`data-history="changed" data-contract="${next}">.*?Plan changed from Basic v1 to <strong>Pro v1</strong> \\(fixed fees prorated\\)`, "s"));
    expect(history.indexOf(`data-contract="${w.contract}"`)).toBeLessThan(history.indexOf(`data-contract="${next}"`));

    // The ended contract links forward, and offers no change, pause or cancellation any more.
    const oldPage = (await b.get(page(w.contract))).html;
    expect(oldPage).toContain("Changed to plan Pro v1 from");
    expect(oldPage).toContain('<span class="badge ended">ended</span>');
    expect(oldPage).not.toContain('data-testid="contract-actions"');
    expect(oldPage).toContain('data-history="changed"');
    const refused = await b.get(`${page(w.contract)}/change`);
    expect(refused.html).toContain("only an active, paused or scheduled contract can change plan");
  });

  it("schedules a change at period end: the old contract offers nothing more, the history marks it scheduled", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const b = new Browser();
    await b.signIn(acct.test);
    const reviewed = await review(b, w, w.pro.id, { when: "period_end", proration: "none" });
    expect(reviewed.status, reviewed.html).toBe(200);
    expect(reviewed.html).toContain("None: the old period keeps its whole fixed fee");
    expect(reviewed.html).toContain("(scheduled until then)");
    const done = await b.request("POST", `${page(w.contract)}/change/confirm`, formFields(reviewed.html, `${page(w.contract)}/change/confirm`));
    expect(done.status, done.html).toBe(303);
    const old = await contractOf(w, w.contract);
    expect(old).toMatchObject({ status: "active", end_date: old.current_period_end, proration: { end: "none" } });
    expect((await contractOf(w, old.next_contract_id)).status).toBe("scheduled");
    const html = (await b.get(page(w.contract))).html;
    expect(html).not.toContain('data-testid="contract-actions"');
    expect(html).toMatch(/data-history="changed"[^>]*><td>[^<]*<span class="muted"> \(scheduled\)/);
  });

  it("migrates to a newer version of the plan with the contract's overrides filled in, so they carry over as shown", async () => {
    const acct = await newAccount();
    const w = await world(acct.test, (basic) => [{ price_id: basic.prices[1]!.id, unit_price: "0.07" }]);
    const b = new Browser();
    await b.signIn(acct.test);
    const before = (await b.get(page(w.contract))).html;
    expect(before).toMatch(/data-testid="contract-overrides">.*?<td>API calls<\/td><td>unit price<\/td><td>API calls: \$0.07 \/ API call<\/td><td class="muted">API calls: \$0.10 \/ API call<\/td>/s);
    const v2 = await call("PATCH", `/v1/plans/${w.basic.id}`, { key: w.key, body: { net_terms_days: 7 } });
    expect(v2.body).toMatchObject({ version: 2, family_id: w.basic.id });
    const picker = (await b.get(`${page(w.contract)}/change`)).html;
    expect(picker).toContain("Basic v2 · USD · monthly");
    expect(picker).not.toContain("Basic v1 · USD · monthly (current)");
    const form = (await b.get(`${page(w.contract)}/change?plan_id=${v2.body.id}`)).html;
    expect(form).toContain('name="override[1].unit_price" type="text" value="0.07"');
    expect(form).toContain("they carry over unless you change or clear them");
    const reviewed = await review(b, w, v2.body.id, { "override[1].unit_price": "0.07" });
    expect(reviewed.status, reviewed.html).toBe(200);
    const done = await b.request("POST", `${page(w.contract)}/change/confirm`, formFields(reviewed.html, `${page(w.contract)}/change/confirm`));
    expect(done.status, done.html).toBe(303);
    const next = await contractOf(w, (await contractOf(w, w.contract)).next_contract_id);
    expect(next).toMatchObject({ plan_id: v2.body.id, overrides: [{ price_id: v2.body.prices[1].id, unit_price: "0.07" }] });
    expect((await b.get(page(next.id))).html).toContain("Plan changed from Basic v1 to <strong>Basic v2</strong>");
  });

  it("pauses and resumes through their pages; the API and the page show the pause", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const b = new Browser();
    await b.signIn(acct.test);
    const ask = await b.get(`${page(w.contract)}/pause`);
    expect(ask.html).toContain("stored but not billed");
    // A datetime-local value has no zone: it is read as UTC.
    const paused = await b.submit(`${page(w.contract)}/pause`, `${page(w.contract)}/pause`, { at: local(w.start + DAY) });
    expect(paused.status, paused.html).toBe(303);
    expect(await contractOf(w, w.contract)).toMatchObject({ status: "paused", pauses: [{ start: iso(w.start + DAY), end: null }] });

    const pausedPage = (await b.get(page(w.contract))).html;
    expect(pausedPage).toContain('<span class="badge paused">paused</span>');
    expect(pausedPage).toContain(`href="${page(w.contract)}/resume"`);
    expect(pausedPage).not.toContain(`href="${page(w.contract)}/pause"`);
    expect(pausedPage).not.toContain(`href="${page(w.contract)}/change"`);
    expect(pausedPage).toMatch(/data-testid="contract-pauses".*?→ ongoing/s);
    // Pausing again is refused by the service's own rule, shown on the page.
    expect((await b.get(`${page(w.contract)}/pause`)).html).toContain("This contract is already paused.");

    const resumed = await b.submit(`${page(w.contract)}/resume`, `${page(w.contract)}/resume`, { at: "" });
    expect(resumed.status, resumed.html).toBe(303);
    const k = await contractOf(w, w.contract);
    expect(k.status).toBe("active");
    expect(k.pauses).toHaveLength(1);
    expect(k.pauses[0].start).toBe(iso(w.start + DAY));
    expect(Date.parse(k.pauses[0].end)).toBeGreaterThan(w.start + DAY);
    const html = (await b.get(page(w.contract))).html;
    expect(html).toMatch(/data-history="paused".*?data-history="resumed"/s);
    expect(html).toContain(`href="${page(w.contract)}/pause"`);
    expect(html).not.toContain(`href="${page(w.contract)}/resume"`);
  });

  it("shows errors next to their fields and changes nothing", async () => {
    const acct = await newAccount();
    const w = await world(acct.test);
    const b = new Browser();
    await b.signIn(acct.test);
    // Caught on review: an override the schema refuses, a time not given, a plan not offered.
    const badOverride = await review(b, w, w.pro.id, { "override[1].unit_price": "cheap" });
    expect(badOverride.status).toBe(400);
    expect(errorFor(badOverride.html, "override[1].unit_price")).toBeTruthy();
    expect(badOverride.html).toContain('value="cheap"');
    const noTime = await review(b, w, w.pro.id, { when: "time", at_time: "" });
    expect(errorFor(noTime.html, "at_time")).toContain("Choose a date and time");
    expect((await b.get(`${page(w.contract)}/change?plan_id=nope`)).status).toBe(400);

    // Caught by the service's preview before the review page: a change before the contract's start, next to the time.
    const refused = await review(b, w, w.pro.id, { when: "time", at_time: local(w.start - DAY) });
    expect(refused.status).toBe(400);
    expect(errorFor(refused.html, "at_time")).toBe(`must not be before the contract's start_date (${iso(w.start)})`);
    expect(refused.html).toContain(`value="${local(w.start - DAY)}"`);
    expect(refused.html).not.toContain("Yes, change the plan");
    expect(await contractOf(w, w.contract)).toMatchObject({ status: "active", end_date: null, next_contract_id: null });
    expect((await call("GET", `/v1/contracts?customer_id=${w.customer}`, { key: w.key })).body.data).toHaveLength(1);

    // A resume time before the pause started.
    await b.submit(`${page(w.contract)}/pause`, `${page(w.contract)}/pause`, { at: local(w.start + DAY) });
    const badResume = await b.submit(`${page(w.contract)}/resume`, `${page(w.contract)}/resume`, { at: local(w.start) });
    expect(badResume.status).toBe(400);
    expect(errorFor(badResume.html, "at")).toContain("must not be before the pause started");
    expect((await contractOf(w, w.contract)).pauses).toEqual([{ start: iso(w.start + DAY), end: null }]);
  });

  it("another account's contract is not found, and its actions change nothing", async () => {
    const owner = await newAccount();
    const w = await world(owner.test);
    const other = await newAccount("Other");
    const b = new Browser();
    await b.signIn(other.test);
    for (const path of ["", "/change", `/change?plan_id=${w.pro.id}`, "/pause", "/resume"]) {
      const res = await b.get(`${page(w.contract)}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.html).not.toContain("Ada Corp");
    }
    const posts: [string, Record<string, string>][] = [
      ["/pause", { at: "" }],
      ["/resume", { at: "" }],
      ["/change", { plan_id: w.pro.id, when: "now", proration: "prorate" }],
      ["/change/confirm", { plan_id: w.pro.id, when: "now", proration: "prorate" }],
    ];
    for (const [path, fields] of posts) {
      expect((await b.submit("/dashboard/contracts", `${page(w.contract)}${path}`, fields)).status, path).toBe(404);
    }
    expect(await contractOf(w, w.contract)).toMatchObject({ status: "active", pauses: [], next_contract_id: null });
  });
});
