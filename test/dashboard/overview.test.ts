// The dashboard's home and issue 21's smaller items through HTTP in workerd: the overview's numbers and their links,
// the customer search box, namesakes told apart in pickers, the phone menu, and the Copy buttons with their CSP hash.
import { describe, expect, it } from "vitest";
import { call, newAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";

const today = () => new Date().toISOString().slice(0, 10);

async function ok(method: string, path: string, key: string, body?: unknown) {
  const res = await call(method, path, { key, body });
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
  return res.body;
}

/** The text of the element carrying `data-testid="<id>"` (no nested tags). */
const testid = (html: string, id: string) => new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(html)?.[1]?.trim();

describe("dashboard overview", () => {
  it("is the home page after sign-in; its numbers match the API and link to the lists behind them", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    expect((await b.get("/dashboard")).location).toBe("/dashboard/overview");
    const empty = await b.get("/dashboard/overview");
    expect(empty.status).toBe(200);
    expect(empty.html).toContain('<a href="/dashboard/overview" class="active">Overview</a>');
    expect(empty.html).toContain("Nothing billed yet.");
    expect(testid(empty.html, "events-today")).toBe("0");

    await ok("POST", "/v1/meters", acct.test, { code: "CALLS", event_name: "call", aggregation: "count" });
    const plan = await ok("POST", "/v1/plans", acct.test, {
      name: "Pro",
      prices: [
        { type: "fixed", name: "Fee", amount: "1000.00" },
        { type: "usage", meter_code: "CALLS", model: "per_unit", unit_price: "0.25" },
      ],
    });
    const customer = await ok("POST", "/v1/customers", acct.test, { name: "Acme & Sons" });
    await ok("POST", "/v1/contracts", acct.test, { customer_id: customer.id, plan_id: plan.id });
    for (let i = 0; i < 3; i++) await ok("POST", "/v1/events", acct.test, { customer_id: customer.id, event_name: "call", idempotency_key: `k${i}` });
    const [draft] = (await call("GET", `/v1/invoices?customer_id=${customer.id}`, { key: acct.test })).body.data;
    expect(draft.total).toBe("1000.75");

    const page = await b.get("/dashboard/overview");
    expect(testid(page.html, "billed-USD")).toBe("$1,000.75");
    expect(page.html).toMatch(/href="\/dashboard\/invoices\?status=draft" data-testid="billed-USD"/);
    expect(testid(page.html, "due-USD")).toBe("$0.00");
    expect(testid(page.html, "failed-count")).toBe("0");
    expect(testid(page.html, "events-today")).toBe("3");
    expect(page.html).toContain(`href="/dashboard/events?from=${today()}" data-testid="events-today"`);
    expect(page.html).toContain(`<a href="/dashboard/customers/${customer.id}">Acme &amp; Sons</a>`);
  });
});

describe("customer search and pickers", () => {
  it("finds customers by part of their name, email or external id, and tells namesakes apart in pickers", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    const first = await ok("POST", "/v1/customers", acct.test, { name: "Acme", email: "one@acme.example" });
    await ok("POST", "/v1/customers", acct.test, { name: "acme ", external_id: "acme-2" });
    const third = await ok("POST", "/v1/customers", acct.test, { name: "Acme" });
    await ok("POST", "/v1/customers", acct.test, { name: "Globex", email: "ap@globex.example" });

    const found = await b.get("/dashboard/customers?q=ACM");
    expect(found.status).toBe(200);
    expect(found.html).toContain('name="q" type="search" value="ACM"');
    const names = [...found.html.matchAll(/<a href="\/dashboard\/customers\/[0-9a-f-]{36}">([^<]*)<\/a>/g)].map((m) => m[1]);
    expect(names.sort()).toEqual(["Acme", "Acme", "acme "]);
    const byEmail = await b.get("/dashboard/customers?q=globex.EXAMPLE");
    expect(byEmail.html).toContain(">Globex</a>");
    expect(byEmail.html).not.toContain(">Acme</a>");
    expect((await b.get("/dashboard/customers?q=%25")).html).toContain("No customers match.");

    // The events filter's picker: a namesake shows its external_id, else its email, else its id's first 8 digits.
    const events = await b.get("/dashboard/events");
    const options = [...events.html.matchAll(/<option value="[0-9a-f-]{36}"[^>]*>([^<]*)<\/option>/g)].map((m) => m[1]);
    expect(options.sort()).toEqual([`Acme · ${third.id.slice(0, 8)}`, "Acme · one@acme.example", "Globex", "acme  · acme-2"].sort());
    expect(first.id).toBeDefined();
  });
});

describe("layout and secrets", () => {
  it("has a menu toggle for phones and a Copy button for a new key, whose one script the CSP allows by hash", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    const list = await b.get("/dashboard/api-keys");
    expect(list.html).toContain('<input type="checkbox" id="nav-toggle" class="nav-toggle"/>');
    expect(list.html).toContain('<label for="nav-toggle" class="nav-button">');
    // No secret on the page: no button and no script.
    expect(list.html).not.toContain("<script");

    const created = await b.submit("/dashboard/api-keys", "/dashboard/api-keys", { name: "Backend" });
    expect(created.status).toBe(200);
    expect(created.html).toMatch(/id="new-secret" data-testid="new-secret">\s*mk_test_[A-Za-z0-9]{32}\s*</);
    expect(created.html).toContain('data-copy="new-secret" data-testid="copy-secret" hidden');
    const scripts = [...created.html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(scripts[0])));
    const csp = created.headers.get("Content-Security-Policy")!;
    expect(csp).toContain(`script-src 'sha256-${btoa(String.fromCharCode(...digest))}';`);
    expect(csp).toContain("default-src 'none'");

    // The webhook signing secret has one too.
    const hook = await b.submit("/dashboard/webhooks", "/dashboard/webhooks", { url: "https://example.com/hook", "events:*": "on" });
    expect(hook.status, hook.html.slice(0, 300)).toBe(200);
    expect(hook.html).toMatch(/id="new-secret" data-testid="new-secret">\s*whsec_/);
    expect(hook.html).toContain('data-copy="new-secret"');
  });
});
