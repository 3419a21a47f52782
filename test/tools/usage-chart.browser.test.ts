// The customer page's usage chart in real Chromium against `npm run dev`: pointing at a bar or a day shows its value
// (CSS only, under the dashboard's no-script CSP), the picker's form works, and a screenshot lands in test-results/.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { followClick, ROOT, sessionApi, startDevSession, type DevSession } from "./support-dev";

const SCREENSHOT = `${ROOT}test-results/usage-chart.png`;
const SCREENSHOT_GROUPS = `${ROOT}test-results/usage-chart-groups.png`;

let session: DevSession | undefined;

const api = (method: string, path: string, body?: unknown) => sessionApi(session!, method, path, body);

const follow = followClick;

/** Moves the mouse to the middle of an element, as a person pointing at it would (hover() would refuse: the hover column lies on top). */
async function pointAt(page: Page, selector: string) {
  const box = await page.locator(selector).boundingBox();
  expect(box, `${selector} is not on screen`).not.toBeNull();
  await page.mouse.move(box!.x + box!.width / 2, box!.y + Math.max(1, box!.height / 2));
}

describe("usage chart in Chromium", () => {
  beforeAll(async () => {
    session = await startDevSession({ width: 1280, height: 900 });
  }, 150_000);

  afterAll(async () => {
    await session?.stop();
    if (session) console.log(`[usage chart browser test] timings: ${JSON.stringify(session.timings)}`);
  });

  it("shows a bar's value on hover, and a day's value per group", async () => {
    const started = Date.now();
    expect((await api("POST", "/v1/meters", { code: "BYTES", event_name: "transfer", display_name: "Bytes", aggregation: "sum", aggregation_property: "bytes", group_by: ["region"] })).status).toBe(201);
    const plan = await api("POST", "/v1/plans", { name: "Transfer", prices: [{ type: "usage", meter_code: "BYTES", model: "per_unit", unit_price: "0.001" }] });
    const customer = (await api("POST", "/v1/customers", { name: "Chart Co" })).body;
    expect((await api("POST", "/v1/contracts", { customer_id: customer.id, plan_id: plan.body.id, start_date: "2026-01-01" })).status).toBe(201);
    const event = (timestamp: string, bytes: number, region: string) => ({ customer_id: customer.id, event_name: "transfer", timestamp, properties: { bytes, region } });
    const sent = await api("POST", "/v1/events/batch", {
      events: [event("2026-01-03T10:00:00Z", 1000, "eu"), event("2026-01-03T23:30:00Z", 2000, "us"), event("2026-01-04T05:00:00Z", 3001, "eu")],
    });
    expect(sent.status).toBe(202);

    const page = await session!.browser.newPage();
    // A CSP violation (an inline script or style the policy refuses) is a console error: any fails the test.
    const consoleErrors: string[] = [];
    page.on("console", (msg) => {
      if (msg.type() === "error") consoleErrors.push(`${page.url()}: ${msg.text()}`);
    });
    page.on("pageerror", (err) => consoleErrors.push(`${page.url()}: ${err.message}`));
    await page.goto(`${session!.base}/dashboard/signin`);
    await page.getByLabel("API key").fill(session!.keys.testKey);
    await follow(page, () => page.getByRole("button", { name: "Sign in" }).click());

    await page.goto(`${session!.base}/dashboard/customers/${customer.id}?meter=BYTES&from=2026-01-01&to=2026-01-05#usage`);
    const chart = page.getByTestId("usage-chart");
    await chart.scrollIntoViewIfNeeded();
    const tips = page.locator(".uc-tip");
    expect(await tips.count()).toBe(5);
    const visibleTips = async () => (await Promise.all((await tips.all()).map((t) => t.isVisible()))).filter(Boolean).length;
    expect(await visibleTips()).toBe(0);

    // Point at Jan 4's bar: its value shows, and only its.
    await pointAt(page, 'rect.uc-bar[data-value="3001"]');
    const jan4 = page.locator('.uc-col[data-start="2026-01-04T00:00:00Z"] .uc-tip');
    expect(await jan4.isVisible()).toBe(true);
    expect(await jan4.textContent()).toBe("2026-01-043,001 Bytes");
    expect(await visibleTips()).toBe(1);
    const section = await page.locator("#usage").boundingBox();
    session!.node.mkdirSync(`${ROOT}test-results`, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, clip: section! });
    expect(session!.node.statSync(SCREENSHOT).size).toBeGreaterThan(5_000);
    // Moving on to the next day moves the tooltip; an empty day says 0.
    await pointAt(page, '.uc-col[data-start="2026-01-05T00:00:00Z"] .uc-hit');
    expect(await jan4.isVisible()).toBe(false);
    expect(await page.locator('.uc-col[data-start="2026-01-05T00:00:00Z"] .uc-tip').textContent()).toBe("2026-01-050 Bytes");

    // Split by region through the picker's form: one line per region, and a day's tooltip lists both.
    await page.getByLabel("Split by").selectOption("region");
    await follow(page, () => page.locator("#usage").getByRole("button", { name: "Show" }).click());
    expect(new URL(page.url()).searchParams.get("group_by")).toBe("region");
    expect(await page.locator("polyline.uc-line").count()).toBe(2);
    expect(await page.getByTestId("usage-legend").innerText()).toMatch(/eu: 4,001\s+us: 2,000/);
    await page.getByTestId("usage-chart").scrollIntoViewIfNeeded();
    await pointAt(page, '.uc-col[data-start="2026-01-03T00:00:00Z"] .uc-hit');
    const jan3 = page.locator('.uc-col[data-start="2026-01-03T00:00:00Z"] .uc-tip');
    expect(await jan3.isVisible()).toBe(true);
    expect(await jan3.locator("text").allTextContents()).toEqual(["2026-01-03", "eu: 1,000 Bytes", "us: 2,000 Bytes"]);
    await page.screenshot({ path: SCREENSHOT_GROUPS, clip: (await page.locator("#usage").boundingBox())! });

    // The date inputs change the range: two days are drawn by the hour.
    await page.getByLabel("From").fill("2026-01-03");
    await page.getByLabel("To (inclusive)").fill("2026-01-04");
    await follow(page, () => page.locator("#usage").getByRole("button", { name: "Show" }).click());
    expect(await page.locator(".uc-col").count()).toBe(48);
    expect(await page.locator("#usage .sub").innerText()).toContain("Bytes per hour, 2026-01-03 to 2026-01-04 (UTC)");

    expect(consoleErrors).toEqual([]);
    session!.timings.flow_ms = Date.now() - started;
  }, 90_000);
});
