// Dashboard security and form behaviour through HTTP in workerd: sessions, CSRF, mode isolation, no secret in clear.
import { describe, expect, it } from "vitest";
import { call, newAccount, type TestAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";
import { connectStripe, paymentIntents, stripeCustomer } from "../support/stripe";

const PAGES = ["overview", "customers", "meters", "plans", "contracts", "events", "invoices", "api-keys", "webhooks"];

async function liveObjects(acct: TestAccount, key: string) {
  const customer = await call("POST", "/v1/customers", { key, body: { name: "Live Co", external_id: "live_co" } });
  const meter = await call("POST", "/v1/meters", { key, body: { code: "LIVE_CALLS", event_name: "live_call", aggregation: "count" } });
  const plan = await call("POST", "/v1/plans", {
    key,
    body: { name: "Live plan", prices: [{ type: "usage", meter_code: "LIVE_CALLS", model: "per_unit", unit_price: "0.05" }] },
  });
  const contract = await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id } });
  const event = await call("POST", "/v1/events", { key, body: { customer_id: customer.body.id, event_name: "live_call" } });
  const invoices = await call("GET", `/v1/invoices?customer_id=${customer.body.id}`, { key });
  expect([customer.status, meter.status, plan.status, contract.status, event.status]).toEqual([201, 201, 201, 201, 202]);
  return {
    customers: customer.body.id as string,
    meters: meter.body.id as string,
    plans: plan.body.id as string,
    contracts: contract.body.id as string,
    events: event.body.id as string,
    invoices: invoices.body.data[0].id as string,
    account: acct.id,
  };
}

describe("dashboard forms", () => {
  it("act once when the same submission arrives twice, and again when its fields changed", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    const tokens = await b.formTokens("/dashboard/customers");
    const first = await b.request("POST", "/dashboard/customers", { ...tokens, name: "Twice Co", external_id: "twice" });
    const again = await b.request("POST", "/dashboard/customers", { ...tokens, name: "Twice Co", external_id: "twice" });
    expect(first.status, first.html).toBe(303);
    expect(again.status).toBe(303);
    expect(again.location).toBe(first.location);
    const names = async () => (await call("GET", "/v1/customers?limit=100", { key: acct.test })).body.data.map((c: any) => c.name).sort();
    expect(await names()).toEqual(["Twice Co"]);
    // The same page sent back with other fields is another submission.
    const edited = await b.request("POST", "/dashboard/customers", { ...tokens, name: "Other Co" });
    expect(edited.status).toBe(303);
    expect(edited.location).not.toBe(first.location);
    expect(await names()).toEqual(["Other Co", "Twice Co"]);
    // A refused submission re-renders the form and is not remembered: sent again, it is refused again, not replayed.
    for (let i = 0; i < 2; i++) expect((await b.request("POST", "/dashboard/customers", { ...tokens, name: "" })).status).toBe(400);
    // Two at once: one creates, the other is told to wait or gets the same answer.
    const t2 = await b.formTokens("/dashboard/customers");
    const both = await Promise.all([1, 2].map(() => b.request("POST", "/dashboard/customers", { ...t2, name: "Racer" })));
    expect(both.map((r) => r.status).sort()).toEqual(expect.arrayContaining([303]));
    for (const r of both) expect([303, 409]).toContain(r.status);
    expect((await names()).filter((n: string) => n === "Racer")).toHaveLength(1);
  });
});

describe("dashboard sessions", () => {
  it("sends every page to sign-in without a session, and with a forged or tampered cookie", async () => {
    const b = new Browser();
    for (const page of ["", ...PAGES]) {
      const res = await b.get(`/dashboard/${page}`);
      expect(res.status).toBe(303);
      expect(res.location).toMatch(/^\/dashboard\/(signin|overview)$/);
    }
    expect((await b.get("/dashboard/customers/00000000-0000-0000-0000-000000000000")).location).toBe("/dashboard/signin");

    const acct = await newAccount();
    await b.signIn(acct.test);
    expect((await b.get("/dashboard/customers")).status).toBe(200);
    // Flip one character of the sealed cookie: AES-GCM refuses it, so it is no session at all.
    const sealed = b.cookie!;
    const i = sealed.length - 5;
    b.cookie = sealed.slice(0, i) + (sealed[i] === "A" ? "B" : "A") + sealed.slice(i + 1);
    const res = await b.get("/dashboard/customers");
    expect(res.status).toBe(303);
    expect(res.location).toBe("/dashboard/signin");
  });

  it("refuses bad keys at sign-in with the message next to the field", async () => {
    const b = new Browser();
    const malformed = await b.submit("/dashboard/signin", "/dashboard/signin", { api_key: "sk_test_123" });
    expect(malformed.status).toBe(400);
    expect(malformed.html).toMatch(/data-error-for="api_key">That is not a Meterline API key/);
    const unknown = await b.submit("/dashboard/signin", "/dashboard/signin", { api_key: "mk_test_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" });
    expect(unknown.status).toBe(400);
    expect(unknown.html).toContain("unknown or revoked");
    expect((await b.get("/dashboard/customers")).status).toBe(303);
  });

  it("keeps the key out of cookies and HTML: the cookie is sealed, HttpOnly, SameSite=Strict, Secure, scoped to /dashboard", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    const live = await b.submit("/dashboard/customers", "/dashboard/mode", { mode: "live", return_to: "/dashboard/customers" });
    expect(live.location).toBe("/dashboard/mode/add?mode=live");
    const added = await b.submit("/dashboard/mode/add?mode=live", "/dashboard/mode/add", { mode: "live", api_key: acct.live });
    expect(added.status).toBe(303);

    const hash = async (s: string) =>
      [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)))].map((x) => x.toString(16).padStart(2, "0")).join("");
    const secrets = [acct.test, acct.live, await hash(acct.test), await hash(acct.live), acct.test.slice(8), acct.live.slice(8)];
    expect(b.setCookies.length).toBeGreaterThan(2);
    for (const sc of b.setCookies) {
      expect(sc).toMatch(/; HttpOnly/);
      expect(sc).toMatch(/; SameSite=Strict/);
      expect(sc).toMatch(/; Secure/);
      expect(sc).toMatch(/; Path=\/dashboard/);
      const value = /^meterline_session=([^;]*)/.exec(sc)![1]!;
      const decoded = value
        .split(".")
        .map((part) => {
          try {
            return atob(part.replace(/-/g, "+").replace(/_/g, "/"));
          } catch {
            return "";
          }
        })
        .join("");
      for (const s of secrets) {
        expect(value).not.toContain(s);
        expect(decoded).not.toContain(s);
      }
    }
    for (const mode of ["live", "test"]) {
      if (mode === "test") await b.submit("/dashboard/customers", "/dashboard/mode", { mode: "test", return_to: "/dashboard/customers" });
      for (const page of PAGES) {
        const res = await b.get(`/dashboard/${page}`);
        expect(res.status).toBe(200);
        for (const s of secrets) expect(res.html).not.toContain(s);
      }
    }
  });

  it("shows the orange test-mode indicator on every test page and none in live mode; switching needs a key of the same account", async () => {
    const acct = await newAccount();
    const other = await newAccount("Other");
    const b = new Browser();
    await b.signIn(acct.test);
    for (const page of PAGES) {
      const res = await b.get(`/dashboard/${page}`);
      expect(res.html).toContain('data-testid="test-mode-indicator"');
      expect(res.html).toContain("Test mode");
    }
    const wrongAccount = await b.submit("/dashboard/mode/add?mode=live", "/dashboard/mode/add", { mode: "live", api_key: other.live });
    expect(wrongAccount.status).toBe(400);
    expect(wrongAccount.html).toContain("That key belongs to another account.");
    const wrongMode = await b.submit("/dashboard/mode/add?mode=live", "/dashboard/mode/add", { mode: "live", api_key: acct.test });
    expect(wrongMode.html).toContain("That is a test key");
    await b.submit("/dashboard/mode/add?mode=live", "/dashboard/mode/add", { mode: "live", api_key: acct.live });
    // Switching lands on the section's list page; return_to is never followed anywhere else.
    const back = await b.submit("/dashboard/plans", "/dashboard/mode", { mode: "test", return_to: "/dashboard/plans/1234" });
    expect(back.location).toBe("/dashboard/plans");
    const offsite = await b.submit("/dashboard/plans", "/dashboard/mode", { mode: "live", return_to: "https://evil.example/" });
    expect(offsite.location).toBe("/dashboard/overview");
    for (const page of PAGES) {
      const res = await b.get(`/dashboard/${page}`);
      expect(res.status).toBe(200);
      expect(res.html).not.toContain("test-mode-indicator");
      expect(res.html).toContain("Switch to test mode");
    }
    // Live session signed in directly: no indicator, and the switch asks for a test key.
    const l = new Browser();
    await l.signIn(acct.live);
    const page = await l.get("/dashboard/customers");
    expect(page.html).not.toContain("test-mode-indicator");
    expect(page.html).toContain("Add a test key to switch");
  });

  it("sends no-script, no-frame, no-cache headers on every page, error pages included; a bad query is a 400 page", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    for (const path of ["/dashboard/signin", "/dashboard/customers", "/dashboard/invoices/nope", "/dashboard/nowhere"]) {
      const res = await b.get(path);
      expect(res.headers.get("Content-Security-Policy"), path).toContain("default-src 'none'");
      expect(res.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
      expect(res.headers.get("X-Frame-Options")).toBe("DENY");
      expect(res.headers.get("Cache-Control")).toBe("no-store");
    }
    expect((await b.get("/dashboard/nowhere")).status).toBe(404);
    const badCursor = await b.get("/dashboard/customers?cursor=garbage");
    expect(badCursor.status).toBe(400);
    expect(badCursor.html).toContain("Invalid request");
    expect(badCursor.html).toContain("test-mode-indicator");
  });

  it("ends the session when its key is revoked", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    const keys = await call("GET", "/v1/api_keys", { key: acct.test });
    const own = keys.body.data.find((k: { last4: string }) => acct.test.endsWith(k.last4));
    expect((await call("DELETE", `/v1/api_keys/${own.id}`, { key: acct.live })).status).toBe(404);
    expect((await call("DELETE", `/v1/api_keys/${own.id}`, { key: acct.test })).status).toBe(200);
    const res = await b.get("/dashboard/customers");
    expect(res.status).toBe(303);
    expect(res.location).toBe("/dashboard/signin?expired=1");
    expect((await b.get("/dashboard/customers")).location).toBe("/dashboard/signin");
  });
});

describe("dashboard isolation", () => {
  it("a test session cannot open live objects, nor another account's, by URL (404)", async () => {
    const acct = await newAccount();
    const live = await liveObjects(acct, acct.live);
    const other = await newAccount("Other");
    const foreign = await liveObjects(other, other.test);
    const b = new Browser();
    await b.signIn(acct.test);
    for (const objects of [live, foreign]) {
      for (const kind of ["customers", "meters", "plans", "contracts", "events", "invoices"] as const) {
        const res = await b.get(`/dashboard/${kind}/${objects[kind]}`);
        expect(res.status, `${kind} ${res.html.slice(0, 200)}`).toBe(404);
        expect(res.html).toContain("Not found");
        expect(res.html).not.toContain("Live Co");
      }
      // Actions by URL are refused the same way, and change nothing.
      const finalize = await b.submit("/dashboard/invoices", `/dashboard/invoices/${objects.invoices}/finalize`, {});
      expect(finalize.status).toBe(404);
      const cancel = await b.submit("/dashboard/contracts", `/dashboard/contracts/${objects.contracts}/cancel`, { at: "now" });
      expect(cancel.status).toBe(404);
      expect((await b.submit("/dashboard/customers", `/dashboard/customers/${objects.customers}/archive`, {})).status).toBe(404);
      expect((await b.submit("/dashboard/customers", `/dashboard/customers/${objects.customers}/edit`, { name: "Taken over" })).status).toBe(404);
      expect((await b.get(`/dashboard/customers/${objects.customers}/edit`)).status).toBe(404);
      expect((await b.submit("/dashboard/meters", `/dashboard/meters/${objects.meters}/rename`, { display_name: "Taken over" })).status).toBe(404);
      expect((await b.submit("/dashboard/plans", `/dashboard/plans/${objects.plans}/archive`, {})).status).toBe(404);
      expect((await b.submit("/dashboard/plans", `/dashboard/plans/${objects.plans}/preview`, { "quantity:LIVE_CALLS": "1" })).status).toBe(404);
      expect((await b.get(`/dashboard/invoices/${objects.invoices}/void`)).status).toBe(404);
    }
    const inv = await call("GET", `/v1/invoices/${live.invoices}`, { key: acct.live });
    expect(inv.body.status).toBe("draft");
    const k = await call("GET", `/v1/contracts/${live.contracts}`, { key: acct.live });
    expect(k.body.status).toBe("active");
    expect((await call("GET", `/v1/customers/${live.customers}`, { key: acct.live })).body).toMatchObject({ archived_at: null, name: "Live Co" });
    expect((await call("GET", `/v1/meters/${live.meters}`, { key: acct.live })).body.display_name).toBe("LIVE_CALLS");
    expect((await call("GET", `/v1/plans/${live.plans}`, { key: acct.live })).body.archived_at).toBeNull();
    // Lists show only the session's mode.
    expect((await b.get("/dashboard/customers")).html).not.toContain("Live Co");
    // The live session sees them.
    const l = new Browser();
    await l.signIn(acct.live);
    expect((await l.get(`/dashboard/customers/${live.customers}`)).html).toContain("Live Co");
    expect((await l.get(`/dashboard/invoices/${live.invoices}`)).status).toBe(200);
  });
});

describe("dashboard CSRF", () => {
  it("refuses a form post without the session's CSRF token (403) and changes nothing", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    const missing = await b.request("POST", "/dashboard/customers", { name: "No token" });
    expect(missing.status).toBe(403);
    const wrong = await b.request("POST", "/dashboard/customers", { _csrf: "x".repeat(32), name: "Wrong token" });
    expect(wrong.status).toBe(403);
    // A token from another session is worth nothing here.
    const stranger = new Browser();
    const foreignToken = await stranger.csrf();
    expect((await b.request("POST", "/dashboard/customers", { _csrf: foreignToken, name: "Foreign token" })).status).toBe(403);
    // The token from before sign-in is replaced at sign-in.
    const fresh = new Browser();
    const before = await fresh.csrf();
    await fresh.request("POST", "/dashboard/signin", { _csrf: before, api_key: acct.test });
    expect((await fresh.request("POST", "/dashboard/customers", { _csrf: before, name: "Old token" })).status).toBe(403);
    // A cross-site Origin is refused even with the right token.
    const token = await b.csrf("/dashboard/customers");
    const crossSite = await b.request("POST", "/dashboard/customers", { _csrf: token, name: "Cross site" }, { Origin: "https://evil.example" });
    expect(crossSite.status).toBe(403);
    for (const action of ["/dashboard/signout", "/dashboard/mode", "/dashboard/api-keys", "/dashboard/meters", "/dashboard/plans", "/dashboard/contracts"]) {
      expect((await b.request("POST", action, { name: "x" })).status, action).toBe(403);
    }
    const list = await call("GET", "/v1/customers", { key: acct.test });
    expect(list.body.data).toEqual([]);
    expect((await call("GET", "/v1/api_keys", { key: acct.test })).body.data).toHaveLength(1);
    // Signing in needs a token too (no login CSRF).
    expect((await new Browser().request("POST", "/dashboard/signin", { api_key: acct.test })).status).toBe(403);
  });
});

describe("dashboard forms", () => {
  it("creates through the API's services and shows the API's errors next to the fields", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);

    const created = await b.submit("/dashboard/customers", "/dashboard/customers", { name: "Acme", external_id: "acme_1", email: "" });
    expect(created.status).toBe(303);
    const id = created.location!.split("/").pop();
    const viaApi = await call("GET", "/v1/customers/acme_1", { key: acct.test });
    expect(viaApi.body).toMatchObject({ id, name: "Acme", email: null, livemode: false });

    const taken = await b.submit("/dashboard/customers", "/dashboard/customers", { name: "Acme 2", external_id: "acme_1" });
    expect(taken.status).toBe(409);
    expect(taken.html).toContain('data-error-for="external_id">A customer with this external_id already exists');
    const badEmail = await b.submit("/dashboard/customers", "/dashboard/customers", { name: "X", email: "not-an-email" });
    expect(badEmail.status).toBe(400);
    expect(badEmail.html).toContain('data-error-for="email">must be an email address');
    expect(badEmail.html).toContain('value="not-an-email"');

    // Editing: every field is sent; an emptied optional field is cleared, as PATCH with null does.
    const edit = `/dashboard/customers/${id}/edit`;
    expect((await b.get(edit)).html).toContain('value="acme_1"');
    const taken1 = await call("POST", "/v1/customers", { key: acct.test, body: { name: "Taken", external_id: "taken_1" } });
    const takenOnEdit = await b.submit(edit, edit, { name: "Acme", external_id: "taken_1", email: "" });
    expect(takenOnEdit.status).toBe(409);
    expect(takenOnEdit.html).toContain('data-error-for="external_id">A customer with this external_id already exists');
    expect((await b.submit(edit, edit, { name: "", external_id: "acme_1" })).html).toContain('data-error-for="name">');
    expect((await b.submit(edit, edit, { name: "Acme Corp", email: "ap@acme.test", external_id: "", payment_provider_id: "" })).status).toBe(303);
    expect((await call("GET", `/v1/customers/${id}`, { key: acct.test })).body).toMatchObject({ name: "Acme Corp", email: "ap@acme.test", external_id: null });
    await b.submit(edit, edit, { name: "Acme", external_id: "acme_1" });
    expect(taken1.status).toBe(201);

    const meter = await b.submit("/dashboard/meters", "/dashboard/meters", { code: "BYTES", event_name: "transfer", aggregation: "sum" });
    expect(meter.status).toBe(400);
    expect(meter.html).toContain('data-error-for="aggregation_property">Aggregation property is required');
    const okMeter = await b.submit("/dashboard/meters", "/dashboard/meters", {
      code: "TRANSFER_GB",
      event_name: "transfer",
      display_name: "GB",
      aggregation: "sum",
      aggregation_property: "gb",
      group_by: "region, zone",
    });
    expect(okMeter.status).toBe(303);
    expect((await call("GET", "/v1/meters/TRANSFER_GB", { key: acct.test })).body.group_by).toEqual(["region", "zone"]);
    const meterPage = `/dashboard/meters/${okMeter.location!.split("/").pop()}`;
    const emptyName = await b.submit(meterPage, `${meterPage}/rename`, { display_name: " " });
    expect(emptyName.status).toBe(400);
    expect(emptyName.html).toContain('data-error-for="display_name">');
    expect((await b.submit(meterPage, `${meterPage}/rename`, { display_name: "Gigabytes" })).status).toBe(303);
    expect((await call("GET", "/v1/meters/TRANSFER_GB", { key: acct.test })).body).toMatchObject({ display_name: "Gigabytes", aggregation: "sum" });
    await b.submit(meterPage, `${meterPage}/rename`, { display_name: "GB" });
    const dup = await b.submit("/dashboard/meters", "/dashboard/meters", { code: "TRANSFER_GB", event_name: "x", aggregation: "count" });
    expect(dup.status).toBe(409);
    expect(dup.html).toContain('data-error-for="code">A meter with code TRANSFER_GB already exists');
    // Monigo's aggregation names work in the form too, and are stored as the canonical name.
    expect((await b.submit("/dashboard/meters", "/dashboard/meters", { code: "PEAK", event_name: "transfer", aggregation: "maximum", aggregation_property: "gb" })).status).toBe(303);
    expect((await call("GET", "/v1/meters/PEAK", { key: acct.test })).body.aggregation).toBe("max");

    // Metronome's transfer tiers from the tiers box; the plan page says them in words.
    const plan = await b.submit("/dashboard/plans", "/dashboard/plans", {
      name: "Transfer",
      currency: "USD",
      billing_interval: "month",
      net_terms_days: "0",
      grace_period_hours: "1",
      "usage[0].meter_code": "TRANSFER_GB",
      "usage[0].model": "graduated",
      "usage[0].tiers": "100 0.10\n1000 0.09\n* 0.08",
    });
    expect(plan.status, plan.html).toBe(303);
    const planPage = await b.get(plan.location!);
    expect(planPage.html).toContain("GB: $0.10 / GB for the first 100 GB, $0.09 / GB for the next 900 GB, $0.08 / GB beyond 1,000 GB");
    const preview = await b.submit(plan.location!, `${plan.location}/preview`, { "quantity:TRANSFER_GB": "1500" });
    expect(preview.status).toBe(200);
    // 100 × 0.10 + 900 × 0.09 + 500 × 0.08 = 131.00, from the same preview service as the API.
    const apiPreview = await call("POST", `/v1/plans/${plan.location!.split("/").pop()}/preview`, { key: acct.test, body: { quantities: { TRANSFER_GB: "1500" } } });
    expect(apiPreview.body.total).toBe("131.00");
    expect(preview.html).toContain("$131.00");

    const badTiers = await b.submit("/dashboard/plans", "/dashboard/plans", {
      name: "Bad",
      "usage[0].meter_code": "TRANSFER_GB",
      "usage[0].model": "graduated",
      "usage[0].tiers": "100 0.10\n50 0.09\n* 0.08",
    });
    expect(badTiers.status).toBe(400);
    expect(badTiers.html).toContain(`data-error-for="usage[0].tiers">`);
    expect(badTiers.html).toContain("up_to must be greater than the previous tier&#39;s up_to");
    const noPrices = await b.submit("/dashboard/plans", "/dashboard/plans", { name: "Empty" });
    expect(noPrices.status).toBe(400);
    expect(noPrices.html).toContain("must have at least one price");
    const badJson = await b.submit("/dashboard/plans", "/dashboard/plans", { name: "J", prices_json: "[{" });
    expect(badJson.html).toContain('data-error-for="prices_json">Not valid JSON');
    expect((await call("GET", "/v1/plans", { key: acct.test })).body.data).toHaveLength(1);

    // A contract, then an overlapping one: 409 with the API's message.
    const planId = plan.location!.split("/").pop()!;
    const contract = await b.submit("/dashboard/contracts", "/dashboard/contracts", { customer_id: id!, plan_id: planId, start_date: "2026-01-01" });
    expect(contract.status, contract.html).toBe(303);
    const overlap = await b.submit("/dashboard/contracts", "/dashboard/contracts", { customer_id: id!, plan_id: planId });
    expect(overlap.status).toBe(409);
    expect(overlap.html).toContain("already has a contract covering part of that time");
    const badDate = await b.submit("/dashboard/contracts", "/dashboard/contracts", { customer_id: id!, plan_id: planId, start_date: "yesterday" });
    expect(badDate.html).toContain('data-error-for="start_date">Type a date such as 2026-03-01 (UTC), or pick one');

    // Archiving through confirmation pages: the API then refuses new contracts, and so does the dashboard's form.
    expect((await b.get(`/dashboard/plans/${planId}/archive`)).html).toContain("stops taking new contracts");
    expect((await b.submit(`/dashboard/plans/${planId}/archive`, `/dashboard/plans/${planId}/archive`, {})).status).toBe(303);
    expect((await call("GET", `/v1/plans/${planId}`, { key: acct.test })).body.archived_at).not.toBeNull();
    expect((await b.submit(`/dashboard/customers/${id}/archive`, `/dashboard/customers/${id}/archive`, {})).status).toBe(303);
    expect((await call("GET", `/v1/customers/${id}`, { key: acct.test })).body.archived_at).not.toBeNull();
    const other = await call("POST", "/v1/customers", { key: acct.test, body: { name: "Other" } });
    const archivedPlan = await b.submit("/dashboard/contracts", "/dashboard/contracts", { customer_id: other.body.id, plan_id: planId });
    expect(archivedPlan.status).toBe(409);
    expect(archivedPlan.html).toContain('data-error-for="plan_id">This plan is archived and takes no new contracts');
  });

  it("shows an API key's secret once, and finalizes / marks paid / voids invoices through confirmation pages", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    const created = await b.submit("/dashboard/api-keys", "/dashboard/api-keys", { name: "Backend" });
    expect(created.status).toBe(200);
    expect(created.headers.get("Cache-Control")).toBe("no-store");
    const secret = /data-testid="new-secret">([^<]+)</.exec(created.html)![1]!.trim();
    expect(secret).toMatch(/^mk_test_[A-Za-z0-9]{32}$/);
    expect((await call("GET", "/v1/customers", { key: secret })).status).toBe(200);
    expect((await b.get("/dashboard/api-keys")).html).not.toContain(secret);

    const customer = await call("POST", "/v1/customers", { key: acct.test, body: { name: "Pay Co" } });
    await call("POST", "/v1/meters", { key: acct.test, body: { code: "API_CALL", event_name: "call_count", aggregation: "count" } });
    const plan = await call("POST", "/v1/plans", {
      key: acct.test,
      body: { name: "Pro", prices: [{ type: "fixed", name: "Platform fee", amount: "50.00" }, { type: "usage", meter_code: "API_CALL", model: "per_unit", unit_price: "0.08" }] },
    });
    await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: customer.body.id, plan_id: plan.body.id, start_date: "2026-01-01" } });
    // Two events on Jan 3, one on Jan 5: the customer page charts them per day and shows the billed usage.
    const at = (ts: string) => ({ customer_id: customer.body.id, event_name: "call_count", timestamp: ts });
    const sent = await call("POST", "/v1/events/batch", {
      key: acct.test,
      body: { events: [at("2026-01-03T10:00:00Z"), at("2026-01-03T23:59:59Z"), at("2026-01-05T00:00:00Z")] },
    });
    expect(sent.status).toBe(202);
    // (test/dashboard/usage-chart.test.ts checks the chart against the usage API.)
    const customerPage = await b.get(`/dashboard/customers/${customer.body.id}?from=2026-01-03&to=2026-01-05`);
    expect(customerPage.html).toContain('data-testid="usage-chart"');
    expect(customerPage.html).toContain('data-start="2026-01-03T00:00:00Z" data-value="2"');
    expect(customerPage.html).toContain('data-start="2026-01-04T00:00:00Z" data-value="0"');
    expect(customerPage.html).toContain('data-start="2026-01-05T00:00:00Z" data-value="1"');
    expect(customerPage.html).toContain('data-testid="upcoming-total">$50.24');
    const invoiceId = (await call("GET", "/v1/invoices", { key: acct.test })).body.data[0].id;
    const page = `/dashboard/invoices/${invoiceId}`;

    expect((await b.get(page)).html).toContain('data-action="finalize"');
    const confirm = await b.get(`${page}/finalize`);
    expect(confirm.html).toContain("Finalizing locks the amounts");
    expect((await call("GET", `/v1/invoices/${invoiceId}`, { key: acct.test })).body.status).toBe("draft");
    expect((await b.submit(`${page}/finalize`, `${page}/finalize`, {})).status).toBe(303);
    expect((await call("GET", `/v1/invoices/${invoiceId}`, { key: acct.test })).body).toMatchObject({ status: "finalized", number: 1 });
    const again = await b.submit(page, `${page}/finalize`, {});
    expect(again.status).toBe(409);
    expect(again.html).toContain("Only draft invoices can be finalized; this one is finalized");
    expect((await b.submit(`${page}/mark_paid`, `${page}/mark_paid`, {})).status).toBe(303);
    expect((await call("GET", `/v1/invoices/${invoiceId}`, { key: acct.test })).body.status).toBe("paid");
    const voidPaid = await b.submit(page, `${page}/void`, {});
    expect(voidPaid.status).toBe(409);
    expect(voidPaid.html).toContain("A paid invoice cannot be voided");
  });

  it("explains on the events page why an event is not billed", async () => {
    const acct = await newAccount();
    const customer = await call("POST", "/v1/customers", { key: acct.test, body: { name: "Quiet Co" } });
    await call("POST", "/v1/events", { key: acct.test, body: { customer_id: customer.body.id, event_name: "call_count" } });
    const b = new Browser();
    await b.signIn(acct.test);
    const list = await b.get(`/dashboard/events?customer_id=${customer.body.id}`);
    expect(list.html).toContain('data-billing="unbilled"');
    expect(list.html).toContain("The customer had no active contract at the event&#39;s time");
    const unknownCustomer = await b.get("/dashboard/events?customer_id=nobody");
    expect(unknownCustomer.status).toBe(404);
    const today = new Date().toISOString().slice(0, 10);
    expect((await b.get(`/dashboard/events?from=${today}`)).html).toContain('data-billing="unbilled"');
    expect((await b.get(`/dashboard/events?to=${today}`)).html).not.toContain('data-billing=');
    const badDate = await b.get("/dashboard/events?from=last+week");
    expect(badDate.status).toBe(200);
    expect(badDate.html).toContain('data-error-for="from">Type a date such as 2026-03-01 (UTC), or pick one');
  });
});

describe("dashboard payments", () => {
  it("charges a finalized invoice now and hands out a Stripe payment link, both through the payments service", async () => {
    const acct = await newAccount();
    const { sk } = await connectStripe(acct);
    const stripeId = await stripeCustomer(sk, "pm_card_visa");
    const customer = await call("POST", "/v1/customers", {
      key: acct.test,
      body: { name: "Payer", payment_provider: "stripe", payment_provider_id: stripeId },
    });
    await call("POST", "/v1/meters", { key: acct.test, body: { code: "API_CALL", event_name: "call_count", aggregation: "count" } });
    const plan = await call("POST", "/v1/plans", { key: acct.test, body: { name: "Flat", prices: [{ type: "fixed", name: "Fee", amount: "20.00" }] } });
    await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: customer.body.id, plan_id: plan.body.id } });
    const [first] = (await call("GET", `/v1/invoices?customer_id=${customer.body.id}`, { key: acct.test })).body.data;
    expect((await call("POST", `/v1/invoices/${first.id}/finalize`, { key: acct.test })).status).toBe(200);

    const b = new Browser();
    await b.signIn(acct.test);
    const page = `/dashboard/invoices/${first.id}`;
    const detail = await b.get(page);
    expect(detail.html).toContain('data-action="pay"');
    expect(detail.html).toContain('data-action="payment_link"');

    // The link is shown on the page (a cross-site redirect after a form post is blocked by the CSP).
    const link = await b.submit(`${page}/payment_link`, `${page}/payment_link`, {});
    expect(link.status, link.html).toBe(200);
    const url = /data-testid="payment-link">.*?href="([^"]+)"/s.exec(link.html)?.[1];
    expect(url).toMatch(/\/checkout\//);
    expect((await call("GET", `/v1/invoices/${first.id}`, { key: acct.test })).body.status).toBe("finalized");

    // Without the CSRF token nothing is charged.
    expect((await b.request("POST", `${page}/pay`, {})).status).toBe(403);
    expect(await paymentIntents(sk, stripeId)).toHaveLength(0);

    expect((await b.submit(`${page}/pay`, `${page}/pay`, {})).status).toBe(303);
    expect((await call("GET", `/v1/invoices/${first.id}`, { key: acct.test })).body).toMatchObject({ status: "paid", payment_status: "succeeded" });
    const intents = await paymentIntents(sk, stripeId);
    expect(intents.filter((pi) => pi.status === "succeeded")).toHaveLength(1);
    // A paid invoice offers neither button any more.
    expect((await b.get(page)).html).not.toContain('data-action="pay"');
  });
});
