// "Edit plan" through the real app: the create form prefilled, a confirmation saying in place or new version, then
// the same updatePlan the API's PATCH runs; checked through the API, with errors, read-only versions and isolation.
import { describe, expect, it } from "vitest";
import { call, newAccount, type TestAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

/** The fields a browser would send from the form posting to `action`: inputs, checked boxes, selected options, textareas. */
function formFields(html: string, action: string): Record<string, string> {
  const start = html.indexOf(`action="${action}"`);
  expect(start, `no form posting to ${action}`).toBeGreaterThan(-1);
  const form = html.slice(start, html.indexOf("</form>", start));
  const out: Record<string, string> = {};
  for (const [tag] of form.matchAll(/<input [^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(tag)?.[1];
    if (!name || name === "_csrf" || name === "_once") continue;
    if (/type="checkbox"/.test(tag)) {
      if (/ checked/.test(tag)) out[unescape(name)] = "on";
      continue;
    }
    out[unescape(name)] = unescape(/value="([^"]*)"/.exec(tag)?.[1] ?? "");
  }
  for (const [, name, options] of form.matchAll(/<select [^>]*name="([^"]*)"[^>]*>([\s\S]*?)<\/select>/g)) {
    const selected = /<option value="([^"]*)" selected/.exec(options!) ?? /<option value="([^"]*)"/.exec(options!);
    out[unescape(name!)] = unescape(selected?.[1] ?? "");
  }
  for (const [, name, text] of form.matchAll(/<textarea [^>]*name="([^"]*)"[^>]*>([\s\S]*?)<\/textarea>/g)) out[unescape(name!)] = unescape(text!);
  return out;
}

async function meters(acct: TestAccount) {
  for (const body of [
    { code: "CALLS", event_name: "api_call", aggregation: "count", display_name: "Calls" },
    { code: "GB", event_name: "transfer", aggregation: "sum", aggregation_property: "gb", display_name: "GB", group_by: ["region"] },
  ]) {
    expect((await call("POST", "/v1/meters", { key: acct.test, body })).status).toBe(201);
  }
}

const plan = async (acct: TestAccount, id: string) => (await call("GET", `/v1/plans/${id}`, { key: acct.test })).body;

describe("dashboard: edit plan", () => {
  it("edits a version no contract uses in place, after a confirmation that says so", async () => {
    const acct = await newAccount();
    await meters(acct);
    const b = new Browser();
    await b.signIn(acct.test);
    const created = await b.submit("/dashboard/plans", "/dashboard/plans", {
      name: "Pro",
      description: "For teams",
      currency: "USD",
      billing_interval: "month",
      net_terms_days: "0",
      grace_period_hours: "1",
      auto_pay: "on",
      minimum_spend: "100.00",
      fixed_name: "Platform fee",
      fixed_amount: "50.00",
      "usage[0].meter_code": "CALLS",
      "usage[0].model": "per_unit",
      "usage[0].unit_price": "0.10",
      "usage[0].included_units": "1000",
      "usage[1].meter_code": "GB",
      "usage[1].model": "graduated",
      "usage[1].tiers": "100 0.10\n* 0.08 5.00",
    });
    expect(created.status, created.html).toBe(303);
    const id = created.location!.split("/").pop()!;
    const before = await plan(acct, id);
    expect(before.description).toBe("For teams");

    const page = await b.get(`/dashboard/plans/${id}`);
    expect(page.html).toContain('data-testid="edit-plan"');
    expect(page.html).toContain("For teams");
    const edit = await b.get(`/dashboard/plans/${id}/edit`);
    expect(edit.status).toBe(200);
    expect(edit.html).toContain("No contract uses version 1, so saving changes it in place.");
    const fields = formFields(edit.html, `/dashboard/plans/${id}/edit`);
    // The create form's fields, filled with the plan as it is.
    expect(fields).toMatchObject({
      name: "Pro",
      description: "For teams",
      currency: "USD",
      billing_interval: "month",
      net_terms_days: "0",
      grace_period_hours: "1",
      auto_pay: "on",
      minimum_spend: "100.00",
      invoice_threshold: "",
      fixed_name: "Platform fee",
      fixed_amount: "50.00",
      "usage[0].meter_code": "CALLS",
      "usage[0].unit_price": "0.10",
      "usage[0].included_units": "1000",
      // Named after its meter: left empty, as on "Create plan", so another meter chosen here brings its own name.
      "usage[0].name": "",
      "usage[1].meter_code": "GB",
      "usage[1].model": "graduated",
      "usage[1].tiers": "100 0.10\n* 0.08 5.00",
      prices_json: "",
    });

    // Sent back as filled in, the form changes nothing.
    const same = await b.submit(`/dashboard/plans/${id}/edit`, `/dashboard/plans/${id}/edit`, fields);
    expect(same.status).toBe(200);
    expect(same.html).toContain("Nothing to save");
    expect(same.html).not.toContain("/edit/confirm");

    const changed = { ...fields, name: "Pro 2", "usage[0].unit_price": "0.12", minimum_spend: "", description: "" };
    const review = await b.submit(`/dashboard/plans/${id}/edit`, `/dashboard/plans/${id}/edit`, changed);
    expect(review.status, review.html).toBe(200);
    expect(review.html).toContain('data-outcome="in_place"');
    expect(review.html).toContain("No contract uses version 1, so saving edits it in place: it keeps its id and stays version 1.");
    expect(review.html).toContain("Yes, save the changes");
    expect(review.html).toContain("Calls: $0.12 / Call; the first 1,000 Calls each period are included");
    // Nothing is saved before the confirmation.
    expect((await plan(acct, id)).name).toBe("Pro");

    const confirm = formFields(review.html, `/dashboard/plans/${id}/edit/confirm`);
    expect(confirm["usage[1].tiers"]).toBe("100 0.10\n* 0.08 5.00");
    const saved = await b.submit(`/dashboard/plans/${id}/edit`, `/dashboard/plans/${id}/edit/confirm`, confirm);
    expect(saved.status, saved.html).toBe(303);
    expect(saved.location).toBe(`/dashboard/plans/${id}?saved=in_place`);
    const after = await plan(acct, id);
    expect(after).toMatchObject({ id, version: 1, name: "Pro 2", description: null, minimum_spend: null, superseded_by: null, auto_pay: true });
    expect(after.prices.map((p: any) => p.unit_price ?? p.amount ?? p.tiers)).toEqual([
      "50.00",
      "0.12",
      [
        { up_to: "100", unit_price: "0.10", flat_price: null },
        { up_to: null, unit_price: "0.08", flat_price: "5.00" },
      ],
    ]);
    expect((await call("GET", "/v1/plans?include_superseded=true", { key: acct.test })).body.data).toHaveLength(1);
    expect((await b.get(saved.location!)).html).toContain("Saved: this version was changed in place.");
  });

  it("saves a version a contract uses as the next version; the contract keeps the old one, which is then read-only", async () => {
    const acct = await newAccount();
    await meters(acct);
    const b = new Browser();
    await b.signIn(acct.test);
    const created = await call("POST", "/v1/plans", {
      key: acct.test,
      body: {
        name: "Metered",
        description: "Usage only",
        net_terms_days: 15,
        invoice_threshold: "500.00",
        prices: [{ type: "usage", meter_code: "GB", model: "volume", tiers: [{ up_to: "1000", unit_price: "0.10" }, { up_to: null, unit_price: "0.05" }] }],
      },
    });
    const id = created.body.id as string;
    const customer = await call("POST", "/v1/customers", { key: acct.test, body: { name: "Acme Co" } });
    const contract = await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: customer.body.id, plan_id: id } });
    expect(contract.status).toBe(201);

    const edit = await b.get(`/dashboard/plans/${id}/edit`);
    expect(edit.html).toContain("1 contract uses version 1: a new name or description changes it in place");
    const fields = formFields(edit.html, `/dashboard/plans/${id}/edit`);
    expect(fields).toMatchObject({ net_terms_days: "15", invoice_threshold: "500.00", "usage[0].model": "volume", "usage[0].tiers": "1000 0.10\n* 0.05" });
    // A meter renamed since: the price keeps the name it was created with, and the form says it.
    expect((await call("PATCH", "/v1/meters/GB", { key: acct.test, body: { display_name: "Gigabytes" } })).status).toBe(200);
    const renamedMeter = formFields((await b.get(`/dashboard/plans/${id}/edit`)).html, `/dashboard/plans/${id}/edit`);
    expect(renamedMeter["usage[0].name"]).toBe("GB");
    expect((await b.submit(`/dashboard/plans/${id}/edit`, `/dashboard/plans/${id}/edit`, renamedMeter)).html).toContain("Nothing to save");
    expect(fields.auto_pay).toBeUndefined();

    // A new name alone changes the version in place, contracts or not.
    const renamed = await b.submit(`/dashboard/plans/${id}/edit`, `/dashboard/plans/${id}/edit`, { ...renamedMeter, name: "Metered GB" });
    expect(renamed.html).toContain('data-outcome="in_place"');
    expect(renamed.html).toContain("a new name or description does not change what its contracts are billed");
    const renameSaved = await b.submit(`/dashboard/plans/${id}/edit`, `/dashboard/plans/${id}/edit/confirm`, formFields(renamed.html, `/dashboard/plans/${id}/edit/confirm`));
    expect(renameSaved.location).toBe(`/dashboard/plans/${id}?saved=in_place`);
    expect(await plan(acct, id)).toMatchObject({ name: "Metered GB", version: 1, superseded_by: null });

    const changed = { ...renamedMeter, name: "Metered GB", net_terms_days: "30", "usage[0].tiers": "1000 0.09\n* 0.04" };
    const review = await b.submit(`/dashboard/plans/${id}/edit`, `/dashboard/plans/${id}/edit`, changed);
    expect(review.status, review.html).toBe(200);
    expect(review.html).toContain('data-outcome="new_version"');
    expect(review.html).toContain("1 contract uses version 1, so saving creates version 2 and marks version 1 superseded.");
    expect(review.html).toContain("Existing contracts keep version 1 and bill exactly as before; new contracts get version 2.");
    expect(review.html).toContain("use Change plan on the contract&#39;s page");
    expect(review.html).toContain("Yes, save as version 2");
    expect(review.html).toContain("net 30 days");
    const confirm = formFields(review.html, `/dashboard/plans/${id}/edit/confirm`);

    // "Back to the form" keeps what was typed and saves nothing.
    const back = await b.submit(`/dashboard/plans/${id}/edit`, `/dashboard/plans/${id}/edit/confirm`, { ...confirm, edit: "1" });
    expect(back.status).toBe(200);
    expect(formFields(back.html, `/dashboard/plans/${id}/edit`)).toMatchObject({ net_terms_days: "30", "usage[0].tiers": "1000 0.09\n* 0.04" });
    expect((await plan(acct, id)).net_terms_days).toBe(15);

    const saved = await b.submit(`/dashboard/plans/${id}/edit`, `/dashboard/plans/${id}/edit/confirm`, confirm);
    expect(saved.status, saved.html).toBe(303);
    const next = /^\/dashboard\/plans\/([^?]+)\?saved=new_version$/.exec(saved.location!)?.[1];
    expect(next).toBeDefined();
    expect(next).not.toBe(id);
    expect(await plan(acct, id)).toMatchObject({ version: 1, superseded_by: next, net_terms_days: 15, invoice_threshold: "500.00" });
    expect((await plan(acct, id)).prices[0].tiers[0].unit_price).toBe("0.10");
    const v2 = await plan(acct, next!);
    expect(v2).toMatchObject({ family_id: id, version: 2, name: "Metered GB", description: "Usage only", net_terms_days: 30, invoice_threshold: "500.00", superseded_by: null });
    expect(v2.prices[0].tiers).toEqual([
      { up_to: "1000", unit_price: "0.09", flat_price: null },
      { up_to: null, unit_price: "0.04", flat_price: null },
    ]);
    expect((await call("GET", `/v1/contracts/${contract.body.id}`, { key: acct.test })).body.plan_id).toBe(id);
    const v2Page = await b.get(saved.location!);
    expect(v2Page.html).toContain("Saved as version 2. Contracts on earlier versions keep theirs");
    expect(v2Page.html).toContain('data-testid="edit-plan"');

    // The superseded version offers no edit, and refuses one sent anyway.
    const oldPage = await b.get(`/dashboard/plans/${id}`);
    expect(oldPage.html).toContain("superseded");
    expect(oldPage.html).not.toContain('data-testid="edit-plan"');
    const oldEdit = await b.get(`/dashboard/plans/${id}/edit`);
    expect(oldEdit.status).toBe(409);
    expect(oldEdit.html).toContain(`href="/dashboard/plans/${next}"`);
    const forced = await b.submit(`/dashboard/plans/${next}/edit`, `/dashboard/plans/${id}/edit/confirm`, { ...confirm, name: "Sneaky" });
    expect(forced.status).toBe(409);
    expect((await plan(acct, id)).name).toBe("Metered GB");

    // Archived: no edit either.
    expect((await call("DELETE", `/v1/plans/${next}`, { key: acct.test })).status).toBe(200);
    expect((await b.get(`/dashboard/plans/${next}`)).html).not.toContain('data-testid="edit-plan"');
    const archived = await b.get(`/dashboard/plans/${next}/edit`);
    expect(archived.status).toBe(409);
    expect(archived.html).toContain("The plan is archived");
  });

  it("shows errors next to the fields and changes nothing", async () => {
    const acct = await newAccount();
    await meters(acct);
    const b = new Browser();
    await b.signIn(acct.test);
    const created = await call("POST", "/v1/plans", {
      key: acct.test,
      body: { name: "Basic", prices: [{ type: "usage", meter_code: "CALLS", model: "per_unit", unit_price: "0.10" }] },
    });
    const id = created.body.id as string;
    const before = await plan(acct, id);
    const path = `/dashboard/plans/${id}/edit`;
    const fields = formFields((await b.get(path)).html, path);

    const bad = await b.submit(path, path, {
      ...fields,
      name: " ",
      net_terms_days: "",
      minimum_spend: "lots",
      "usage[1].meter_code": "GB",
      "usage[1].model": "graduated",
      "usage[1].tiers": "100 0.10\n50 0.09\n* 0.08",
    });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('data-error-for="name">Give the plan a name');
    expect(bad.html).toContain('data-error-for="net_terms_days">Type a number of days: 0 means due on receipt');
    expect(bad.html).toContain('data-error-for="minimum_spend">Type an amount');
    // What was typed stays in the form.
    expect(bad.html).toContain('value="lots"');

    const tiers = await b.submit(path, path, { ...fields, "usage[1].meter_code": "GB", "usage[1].model": "graduated", "usage[1].tiers": "100 0.10\n50 0.09\n* 0.08" });
    expect(tiers.status).toBe(400);
    expect(tiers.html).toContain('data-error-for="usage[1].tiers">');
    expect(tiers.html).toContain("up_to must be greater than the previous tier&#39;s up_to");

    // Refusals only the service knows (an unknown currency or meter) are shown before the confirmation.
    const currency = await b.submit(path, path, { ...fields, currency: "XYZ" });
    expect(currency.status).toBe(400);
    expect(currency.html).toContain('data-error-for="currency">');
    const meter = await b.submit(path, path, { ...fields, "usage[0].meter_code": "NOPE" });
    expect(meter.status).toBe(404);
    expect(meter.html).toContain('data-error-for="usage[0].meter_code">No meter with code NOPE');
    const none = await b.submit(path, path, { ...fields, "usage[0].meter_code": "" });
    expect(none.status).toBe(400);
    expect(none.html).toContain("must have at least one price");
    const json = await b.submit(path, path, { ...fields, prices_json: "[{" });
    expect(json.html).toContain('data-error-for="prices_json">Not valid JSON');

    // The confirmation step checks again: a tampered confirmation is refused the same way.
    const tampered = await b.submit(path, `${path}/confirm`, { ...fields, "usage[0].unit_price": "abc" });
    expect(tampered.status).toBe(400);
    expect(tampered.html).toContain('data-error-for="usage[0].unit_price">');

    expect(await plan(acct, id)).toEqual(before);
    expect((await call("GET", "/v1/plans?include_superseded=true", { key: acct.test })).body.data).toHaveLength(1);
  });

  it("edits prices the rows cannot show as the API's JSON, and sending them back unchanged is no change", async () => {
    const acct = await newAccount();
    await meters(acct);
    const b = new Browser();
    await b.signIn(acct.test);
    const created = await call("POST", "/v1/plans", {
      key: acct.test,
      body: {
        name: "Regional",
        prices: [
          { type: "usage", meter_code: "GB", model: "dimensional", dimension: "region", rates: { us: "0.10", eu: "0.12" } },
          { type: "fixed", name: "Base", amount: "10.00" },
        ],
      },
    });
    const id = created.body.id as string;
    const path = `/dashboard/plans/${id}/edit`;
    const fields = formFields((await b.get(path)).html, path);
    expect(JSON.parse(fields.prices_json!)).toEqual([
      { type: "usage", name: "GB", meter_code: "GB", model: "dimensional", dimension: "region", rates: { us: "0.10", eu: "0.12" }, default_rate: null, included_units: null, minimum_amount: null, maximum_amount: null },
      { type: "fixed", name: "Base", amount: "10.00" },
    ]);
    expect(fields.fixed_amount ?? "").toBe("");
    expect((await b.submit(path, path, fields)).html).toContain("Nothing to save");

    const prices = JSON.parse(fields.prices_json!);
    prices[0].rates.eu = "0.15";
    const review = await b.submit(path, path, { ...fields, prices_json: JSON.stringify(prices) });
    expect(review.html).toContain('data-outcome="in_place"');
    const saved = await b.submit(path, `${path}/confirm`, formFields(review.html, `${path}/confirm`));
    expect(saved.location).toBe(`/dashboard/plans/${id}?saved=in_place`);
    expect((await plan(acct, id)).prices[0].rates).toEqual({ us: "0.10", eu: "0.15" });
  });

  it("opens no other account's plan, nor a live plan from a test session (404)", async () => {
    const [acct, other] = await Promise.all([newAccount(), newAccount("Other")]);
    const foreign = await call("POST", "/v1/plans", { key: other.test, body: { name: "Theirs", prices: [{ type: "fixed", name: "Fee", amount: "5.00" }] } });
    const live = await call("POST", "/v1/plans", { key: acct.live, body: { name: "Live", prices: [{ type: "fixed", name: "Fee", amount: "5.00" }] } });
    const b = new Browser();
    await b.signIn(acct.test);
    for (const id of [foreign.body.id as string, live.body.id as string]) {
      expect((await b.get(`/dashboard/plans/${id}/edit`)).status).toBe(404);
      const fields = { name: "Taken over", currency: "USD", billing_interval: "month", net_terms_days: "0", grace_period_hours: "1", fixed_amount: "1.00" };
      expect((await b.submit("/dashboard/plans", `/dashboard/plans/${id}/edit`, fields)).status).toBe(404);
      expect((await b.submit("/dashboard/plans", `/dashboard/plans/${id}/edit/confirm`, fields)).status).toBe(404);
    }
    expect((await call("GET", `/v1/plans/${foreign.body.id}`, { key: other.test })).body).toMatchObject({ name: "Theirs", version: 1, superseded_by: null });
    expect((await call("GET", `/v1/plans/${live.body.id}`, { key: acct.live })).body).toMatchObject({ name: "Live", version: 1, superseded_by: null });
  });
});
