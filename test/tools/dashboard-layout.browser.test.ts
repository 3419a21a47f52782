// The dashboard's home, customer search, Copy button and phone layout in real Chromium against the real `npm run dev`:
// numbers checked against the API, screenshots at 390 and 1280 px wide, no page scrolling sideways, page weights.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { ROOT, sessionApi, startDevSession, type DevSession } from "./support-dev";

const SHOTS = `${ROOT}test-results/layout`;
const WIDTHS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
];

let dev: DevSession | undefined;

/** An API call as the customer's backend makes it; fails the test on an error answer. */
async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await sessionApi(dev!, method, path, body);
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
  return res.body;
}

/** "$98.10" from cents, as the dashboard writes USD amounts under $1,000. */
const dollars = (cents: bigint) => `$${cents / 100n}.${String(cents % 100n).padStart(2, "0")}`;
const cents = (amount: string) => BigInt(amount.replace(".", ""));

/** Waits for the navigation a click starts (armed before the click), then for the page to load. */
async function follow(page: Page, target: ReturnType<Page["locator"]>) {
  await Promise.all([page.waitForEvent("framenavigated", { predicate: (frame) => frame === page.mainFrame() }), target.click()]);
  await page.waitForLoadState("domcontentloaded");
}

/** The page's width against the viewport's: more means the page scrolls sideways. */
const widths = (page: Page) =>
  page.evaluate(() => {
    const g = globalThis as unknown as { document: { documentElement: { scrollWidth: number } }; innerWidth: number };
    return { scroll: g.document.documentElement.scrollWidth, inner: g.innerWidth };
  });

describe("dashboard home and layout in Chromium", () => {
  beforeAll(async () => {
    dev = await startDevSession(WIDTHS[0]!);
  }, 110_000);

  afterAll(async () => {
    await dev?.stop();
    console.log(`[dashboard layout test] ${JSON.stringify(dev?.timings)}`);
  });

  it("opens the overview after sign-in with the API's numbers, searches customers, copies a key, and never scrolls sideways", async () => {
    const started = Date.now();
    const { browser, base, keys, node, timings } = dev!;
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on("console", (msg) => {
      if (msg.type() === "error") consoleErrors.push(`${page.url()}: ${msg.text()}`);
    });
    page.on("pageerror", (err) => consoleErrors.push(`${page.url()}: ${err.message}`));

    // Two customers named alike, one more, usage on two contracts: all over the API.
    await api("POST", "/v1/meters", { code: "CALLS", event_name: "call", aggregation: "count", display_name: "API Calls" });
    const plan = await api("POST", "/v1/plans", {
      name: "Growth",
      prices: [
        { type: "fixed", name: "Platform fee", amount: "49.00" },
        { type: "usage", meter_code: "CALLS", model: "per_unit", unit_price: "0.02" },
      ],
    });
    const acme = await api("POST", "/v1/customers", { name: "Acme", external_id: "acme-1", email: "ap@acme.example" });
    await api("POST", "/v1/customers", { name: "Acme", external_id: "acme-2" });
    const globex = await api("POST", "/v1/customers", { name: "Globex Corporation International Holdings", email: "accounts-payable@globex-international.example" });
    for (const c of [acme, globex]) await api("POST", "/v1/contracts", { customer_id: c.id, plan_id: plan.id });
    await api("POST", "/v1/events/batch", {
      events: [0, 1, 2, 3, 4].map((i) => ({ customer_id: acme.id, event_name: "call", idempotency_key: `layout-${i}` })),
    });
    const drafts: any[] = (await api("GET", "/v1/invoices?status=draft&limit=100")).data;
    expect(drafts).toHaveLength(2);
    const billed = dollars(drafts.reduce((sum, d) => sum + cents(d.total), 0n));
    expect(billed).toBe("$98.10");

    // Sign-in lands on the overview; its numbers are the API's.
    await page.goto(`${base}/dashboard`);
    await page.getByLabel("API key").fill(keys.testKey);
    await follow(page, page.getByRole("button", { name: "Sign in" }));
    expect(new URL(page.url()).pathname).toBe("/dashboard/overview");
    expect(await page.getByTestId("billed-USD").innerText()).toBe(billed);
    expect(await page.getByTestId("events-today").innerText()).toBe("5");
    expect(await page.getByTestId("top-customers").innerText()).toContain("Acme");

    // Search by part of the name, case-blind.
    await follow(page, page.locator("nav.side").getByRole("link", { name: "Customers", exact: true }));
    await page.getByLabel("Search").fill("acm");
    await follow(page, page.getByRole("button", { name: "Search" }));
    const rows = page.getByTestId("customers-table").locator("tbody tr");
    expect(await rows.count()).toBe(2);
    expect(await rows.allInnerTexts()).toEqual(expect.arrayContaining([expect.stringContaining("acme-1"), expect.stringContaining("acme-2")]));
    // The events filter tells the two apart.
    await page.goto(`${base}/dashboard/events`);
    const labels = await page.locator('select[name="customer_id"] option').allInnerTexts();
    expect(labels).toEqual(expect.arrayContaining(["Acme · acme-1", "Acme · acme-2"]));

    // A new key's Copy button puts the secret on the clipboard (its script runs under the CSP).
    await browser.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
    await page.goto(`${base}/dashboard/api-keys`);
    await page.getByLabel("Name").fill("Layout test");
    await follow(page, page.getByRole("button", { name: /Create test key/ }));
    const secret = (await page.getByTestId("new-secret").innerText()).trim();
    await page.getByTestId("copy-secret").click();
    await page.getByTestId("copy-secret").getByText("Copied").waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText())).toBe(secret);

    // Page weight: one document each (CSS and the one script inline), no other request. wrangler dev sends it
    // uncompressed; gzip's size is about what Cloudflare's edge sends.
    const zlib = "node:zlib";
    const { gzipSync } = (await import(/* @vite-ignore */ zlib)) as { gzipSync(data: Uint8Array): Uint8Array };
    const weights: Record<string, { bytes: number; gzip: number }> = {};
    for (const [name, path] of [
      ["overview", "/dashboard/overview"],
      ["customer", `/dashboard/customers/${acme.id}`],
    ] as const) {
      const requests: string[] = [];
      const onRequest = (r: { url(): string }) => requests.push(r.url());
      page.on("request", onRequest);
      const res = await page.goto(`${base}${path}`);
      await page.waitForLoadState("load");
      page.off("request", onRequest);
      const body = await res!.body();
      weights[name] = { bytes: body.length, gzip: gzipSync(body).length };
      expect(requests, name).toEqual([`${base}${path}`]);
    }
    timings.overview_bytes = weights.overview!.bytes;
    timings.overview_gzip_bytes = weights.overview!.gzip;
    timings.customer_page_bytes = weights.customer!.bytes;
    timings.customer_page_gzip_bytes = weights.customer!.gzip;
    expect(weights.customer!.bytes).toBeLessThan(100_000);

    // Every page at desktop and phone width: a screenshot, and nothing wider than the window.
    const pages: Record<string, string> = {
      overview: "/dashboard/overview",
      customers: "/dashboard/customers",
      customer: `/dashboard/customers/${acme.id}`,
      invoice: `/dashboard/invoices/${drafts.find((d) => d.customer_id === acme.id).id}`,
      events: "/dashboard/events",
      plans: "/dashboard/plans",
      contracts: "/dashboard/contracts",
    };
    node.mkdirSync(SHOTS, { recursive: true });
    for (const size of WIDTHS) {
      await page.setViewportSize(size);
      for (const [name, path] of Object.entries(pages)) {
        await page.goto(`${base}${path}`);
        const w = await widths(page);
        expect(w.scroll, `${name} at ${size.width} px scrolls sideways`).toBeLessThanOrEqual(w.inner);
        const file = `${SHOTS}/${name}-${size.width}.png`;
        await page.screenshot({ path: file, fullPage: true });
        expect(node.statSync(file).size).toBeGreaterThan(5_000);
      }
    }

    // At phone width the menu is behind its button.
    const customersLink = page.locator("nav.side").getByRole("link", { name: "Customers", exact: true });
    expect(await customersLink.isVisible()).toBe(false);
    await page.locator("nav.side").getByText("Menu").click();
    expect(await customersLink.isVisible()).toBe(true);
    await follow(page, customersLink);
    expect(new URL(page.url()).pathname).toBe("/dashboard/customers");

    expect(consoleErrors).toEqual([]);
    timings.flow_ms = Date.now() - started;
  }, 100_000);
});
