// Seed 004 ("Billing for SaaS Products") followed in real Chromium through the dashboard, against the real `npm run dev`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { ROOT, startDevSession, type DevSession, type NodeApis } from "./support-dev";

const SCREENSHOT = `${ROOT}test-results/dashboard-invoice.png`;
/** Orange of the test-mode indicator (--test in the layout's CSS). */
const TEST_ORANGE = "rgb(245, 130, 11)";

let session: DevSession | undefined;
let node: NodeApis;
let browser: BrowserContext;
const timings: Record<string, number> = {};

async function expectTestIndicator(page: Page) {
  const indicator = page.getByTestId("test-mode-indicator");
  expect(await indicator.isVisible(), `no test-mode indicator on ${page.url()}`).toBe(true);
  expect(await indicator.innerText()).toContain("Test mode");
  expect(await indicator.evaluate(
    // Runs in the page; the project's types have no DOM lib.
    (el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor,
  )).toBe(TEST_ORANGE);
}

/**
 * Clicks a link or submit button and waits until the page it leads to has loaded.
 * NOTE: waitForLoadState alone answers at once for the page being left (it is loaded), so a check right after a click
 * could read the old page or one mid-navigation (a flake on a busy machine); waiting for the main frame to commit
 * the navigation the click started, armed before the click, cannot.
 */
async function follow(page: Page, target: ReturnType<Page["locator"]>) {
  await Promise.all([page.waitForEvent("framenavigated", { predicate: (frame) => frame === page.mainFrame() }), target.click()]);
  await page.waitForLoadState("domcontentloaded");
}

/** Follows a navigation link, then checks the page is in test mode. */
async function navigate(page: Page, label: string) {
  await follow(page, page.locator("nav.side").getByRole("link", { name: label, exact: true }));
  await expectTestIndicator(page);
}

async function heading(page: Page) {
  return (await page.locator("h1").first().innerText()).trim();
}

describe("dashboard in Chromium (seed 004)", () => {
  let base: string;
  let keys: { testKey: string; liveKey: string };

  beforeAll(async () => {
    session = await startDevSession({ width: 1280, height: 900 });
    ({ node, browser, base, keys } = session);
    Object.assign(timings, session.timings);
  }, 150_000);

  afterAll(async () => {
    await session?.stop();
    console.log(`[dashboard browser test] timings: ${JSON.stringify(timings)}`);
  });

  it("signs in with a test key, sets up meter, plans, customer and contract, and sees $50.80 billed from 10 events", async () => {
    const started = Date.now();
    const page = await browser!.newPage();
    // Any console error (a CSP violation, a failed load) fails the test at the end.
    const consoleErrors: string[] = [];
    page.on("console", (msg) => {
      // A form re-rendered with the API's 400 is logged by Chromium as a failed load: that one is on purpose.
      if (msg.type() === "error" && !/status of 400 \(Bad Request\)/.test(msg.text())) consoleErrors.push(`${page.url()}: ${msg.text()}`);
    });
    page.on("pageerror", (err) => consoleErrors.push(`${page.url()}: ${err.message}`));

    // No session: the dashboard sends us to sign in.
    await page.goto(`${base}/dashboard`);
    expect(new URL(page.url()).pathname).toBe("/dashboard/signin");
    await page.getByLabel("API key").fill(keys.testKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${base}/dashboard/overview`);
    await expectTestIndicator(page);
    const cookies = await browser!.cookies(`${base}/dashboard/`);
    const session = cookies.find((c) => c.name === "meterline_session")!;
    expect(session.httpOnly).toBe(true);
    expect(session.sameSite).toBe("Strict");
    expect(session.value).not.toContain(keys.testKey);
    expect(await page.content()).not.toContain(keys.testKey);

    // Step 2: Products → Meters → Create Meter: API_CALL, count of call_count.
    await navigate(page, "Meters");
    await page.getByLabel("Code").fill("API_CALL");
    await page.getByLabel("Event name").last().fill("call_count");
    await page.getByLabel("Display name").fill("API Calls");
    await page.getByLabel("Aggregation").selectOption("count");
    await page.getByRole("button", { name: "Create meter" }).click();
    await page.waitForURL(/\/dashboard\/meters\/[0-9a-f-]{36}$/);
    await expectTestIndicator(page);
    expect(await heading(page)).toContain("API Calls");

    // Step 3: Products → Plans → Create Plan, twice. A typo first: the API's message shows next to the field.
    await navigate(page, "Plans");
    await page.getByLabel("Name", { exact: true }).first().fill("Free");
    await page.getByLabel("Net terms (days)").fill("30");
    await page.getByLabel("Amount per period").fill("0");
    await page.locator('select[name="usage[0].meter_code"]').selectOption("API_CALL");
    await page.locator('input[name="usage[0].unit_price"]').fill("0.1O");
    await follow(page, page.getByRole("button", { name: "Create plan" }));
    await expectTestIndicator(page);
    const fieldError = page.locator('[data-error-for="usage[0].unit_price"]');
    expect(await fieldError.innerText()).toContain("Type a number such as 0.10");
    await page.locator('input[name="usage[0].unit_price"]').fill("0.10");
    await page.getByRole("button", { name: "Create plan" }).click();
    await page.waitForURL(/\/dashboard\/plans\/[0-9a-f-]{36}$/);
    await expectTestIndicator(page);
    expect(await page.getByTestId("plan-prices").innerText()).toContain("API Calls: $0.10 / API Call");

    await navigate(page, "Plans");
    await page.getByLabel("Name", { exact: true }).first().fill("Pro");
    await page.getByLabel("Net terms (days)").fill("0");
    await page.getByLabel("Auto-pay by default").check();
    await page.getByLabel("Amount per period").fill("50.00");
    await page.locator('select[name="usage[0].meter_code"]').selectOption("API_CALL");
    await page.locator('input[name="usage[0].unit_price"]').fill("0.08");
    await page.getByRole("button", { name: "Create plan" }).click();
    await page.waitForURL(/\/dashboard\/plans\/[0-9a-f-]{36}$/);
    await expectTestIndicator(page);
    const proUrl = page.url();
    const prices = await page.getByTestId("plan-prices").innerText();
    expect(prices).toContain("$50.00 per period");
    expect(prices).toContain("API Calls: $0.08 / API Call");
    // The plan preview calculator: 10 calls on Pro.
    await page.getByLabel("API Calls (API_CALL)").fill("10");
    await follow(page, page.getByRole("button", { name: "Calculate" }));
    await expectTestIndicator(page);
    expect(await page.getByTestId("preview-result").innerText()).toContain("$50.80");

    // Step 1: Customers → Add Customer.
    await navigate(page, "Customers");
    await page.getByLabel("Name").fill("TEST CUSTOMER");
    await page.getByLabel("External ID").last().fill("cus_yourapp_123");
    await page.getByRole("button", { name: "Add customer" }).click();
    await page.waitForURL(/\/dashboard\/customers\/[0-9a-f-]{36}$/);
    await expectTestIndicator(page);
    expect(await heading(page)).toContain("TEST CUSTOMER");

    // Step 4: Products → Plans → Pro → Create Contract → customer and start date.
    await page.goto(proUrl);
    await expectTestIndicator(page);
    await follow(page, page.getByTestId("create-contract"));
    await expectTestIndicator(page);
    await page.locator('select[name="customer_id"]').last().selectOption({ label: "TEST CUSTOMER" });
    await page.getByRole("button", { name: "Create contract" }).click();
    await page.waitForURL(/\/dashboard\/contracts\/[0-9a-f-]{36}$/);
    await expectTestIndicator(page);
    expect(await heading(page)).toContain("TEST CUSTOMER on Pro");

    // Step 6: ten usage events through the API, as the customer's backend would send them.
    let t = Date.now();
    for (let i = 1; i <= 10; i++) {
      const res = await fetch(`${base}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${keys.testKey}`, "content-type": "application/json" },
        body: JSON.stringify({ external_customer_id: "cus_yourapp_123", event_name: "call_count", idempotency_key: `seed-004-${i}`, properties: { endpoint: "/api/users" } }),
      });
      expect(res.status).toBe(202);
    }
    timings.ten_events_ms = Date.now() - t;

    // Step 7: the Pro invoice shows $50 + 10 × $0.08.
    await navigate(page, "Invoices");
    await page.getByTestId("invoices-table").getByRole("link", { name: /^Draft/ }).click();
    await page.waitForURL(/\/dashboard\/invoices\/[0-9a-f-]{36}$/);
    await expectTestIndicator(page);
    expect(await page.getByTestId("invoice-total").innerText()).toBe("$50.80");
    const lines = await page.getByTestId("invoice-lines").innerText();
    expect(lines).toContain("Platform fee");
    expect(lines).toMatch(/API Calls\s+10\s+\$0\.08\s+\$0\.80/);
    node.mkdirSync(`${ROOT}test-results`, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(node.statSync(SCREENSHOT).size).toBeGreaterThan(10_000);

    // The events, newest first, each marked billed.
    await navigate(page, "Events");
    await page.locator('select[name="customer_id"]').selectOption({ label: "TEST CUSTOMER" });
    await page.getByLabel("Event name").fill("call_count");
    await follow(page, page.getByRole("button", { name: "Filter" }));
    await expectTestIndicator(page);
    const rows = page.getByTestId("events-table").locator("tbody tr");
    expect(await rows.count()).toBe(10);
    expect(await page.locator('tr[data-billing="billed"]').count()).toBe(10);
    expect(await rows.first().innerText()).toContain("Billed");

    // The customer page charts the period's usage.
    await navigate(page, "Customers");
    await follow(page, page.getByRole("link", { name: "TEST CUSTOMER" }));
    await expectTestIndicator(page);
    expect(await page.getByTestId("upcoming-total").innerText()).toBe("$50.80");
    // Today's bar is the meter's usage (test/tools/usage-chart.browser.test.ts checks the chart itself).
    const today = `${new Date().toISOString().slice(0, 10)}T00:00:00Z`;
    expect(await page.getByTestId("usage-chart").locator(`.uc-col[data-start="${today}"]`).getAttribute("data-value")).toBe("10");

    // Finalize from the invoice page, through its confirmation step.
    await navigate(page, "Invoices");
    await follow(page, page.getByTestId("invoices-table").getByRole("link", { name: /^Draft/ }));
    await follow(page, page.locator('[data-action="finalize"]'));
    await expectTestIndicator(page);
    await page.locator('[data-confirm="finalize"]').click();
    await page.waitForURL(/\/dashboard\/invoices\/[0-9a-f-]{36}$/);
    await expectTestIndicator(page);
    expect(await heading(page)).toMatch(/Invoice #1\s+finalized/);
    expect(await page.getByTestId("invoice-total").innerText()).toBe("$50.80");

    // Settings → API Keys: a new key's secret is shown once.
    await navigate(page, "API Keys");
    await page.getByLabel("Name").fill("Backend");
    await follow(page, page.getByRole("button", { name: /Create test key/ }));
    await expectTestIndicator(page);
    expect(await page.getByTestId("new-secret").innerText()).toMatch(/^mk_test_[A-Za-z0-9]{32}$/);

    // Switch to live mode: the session has no live key yet, so it asks for one; live shows no indicator and no test data.
    await page.getByTestId("mode-switch").click();
    await page.getByLabel("Live API key").fill(keys.liveKey);
    await page.getByRole("button", { name: "Add key and switch" }).click();
    await page.waitForURL(`${base}/dashboard/overview`);
    expect(await page.getByTestId("test-mode-indicator").count()).toBe(0);
    expect(await page.content()).not.toContain("TEST CUSTOMER");
    // Back to test mode in one click: the session holds both keys now (the overview lists TEST CUSTOMER's spend).
    await page.getByTestId("mode-switch").click();
    await page.waitForURL(`${base}/dashboard/overview`);
    await expectTestIndicator(page);
    expect(await page.content()).toContain("TEST CUSTOMER");

    expect(consoleErrors).toEqual([]);
    timings.browser_flow_ms = Date.now() - started;
  }, 180_000);
});
