// The customer-facing invoice in real Chromium against `npm run dev`: the hosted page at phone and desktop widths (no
// horizontal overflow, screenshots in test-results/), its weight, its PDF, and Pay through Checkout back to "Paid".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { followClick, ROOT, sessionApi, startDevSession, type DevSession } from "./support-dev";

const WIDTHS = [390, 1280];
/** The page is one HTML document with its CSS inline; far more than this means something heavy crept in. */
const MAX_PAGE_BYTES = 24 * 1024;

let session: DevSession | undefined;

const api = (method: string, path: string, body?: unknown) => sessionApi(session!, method, path, body);

const follow = followClick;

/** How far the page is wider than the window (0: no horizontal scrolling). Runs in the page; the project has no DOM types. */
const overflow = (page: Page) =>
  page.evaluate(() => {
    const doc = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document;
    return doc.documentElement.scrollWidth - doc.documentElement.clientWidth;
  });

/** A finalized January invoice with a graduated line (two tiers), a fixed fee, a credit and a long customer name. */
async function finalizedInvoice() {
  expect((await api("POST", "/v1/meters", { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "count" })).status).toBe(201);
  const plan = await api("POST", "/v1/plans", {
    name: "Growth",
    net_terms_days: 30,
    grace_period_hours: 0,
    prices: [
      { type: "fixed", name: "Platform fee", amount: "20.00" },
      { type: "usage", meter_code: "API", model: "graduated", tiers: [{ up_to: "100", unit_price: "0.10" }, { up_to: null, unit_price: "0.05" }] },
    ],
  });
  expect(plan.status).toBe(201);
  const customer = (await api("POST", "/v1/customers", { name: "Müller & Søn Internationale Handelsgesellschaft mbH", email: "accounts.payable@mueller-soen-handelsgesellschaft.example" })).body;
  expect((await api("POST", "/v1/contracts", { customer_id: customer.id, plan_id: plan.body.id, start_date: "2026-01-01" })).status).toBe(201);
  expect((await api("POST", `/v1/customers/${customer.id}/credit_grants`, { name: "Welcome credit", amount: "5.00", currency: "USD", type: "promotional", effective_at: "2026-01-01T00:00:00Z" })).status).toBe(201);
  const events = Array.from({ length: 150 }, (_, i) => ({ customer_id: customer.id, event_name: "api_call", idempotency_key: `c${i}`, timestamp: "2026-01-10T12:00:00Z" }));
  expect((await api("POST", "/v1/events/batch", { events })).status).toBe(202);
  const run = await api("POST", "/v1/billing_runs", { as_of: "2026-02-01T01:00:00Z" });
  expect(run.status).toBe(202);
  // The run goes on in the coordinator's alarms; a few seconds at most (expect.poll looks again until it is done).
  await expect.poll(async () => (await api("GET", `/v1/billing_runs/${run.body.id}`)).body.status, { timeout: 30_000 }).toBe("completed");
  const inv = (await api("GET", `/v1/invoices?customer_id=${customer.id}&status=finalized`)).body.data[0];
  expect(inv).toMatchObject({ number: 1, total: "32.50", amount_due: "27.50" });
  return inv;
}

describe("hosted invoice in Chromium", () => {
  beforeAll(async () => {
    session = await startDevSession({ width: 1280, height: 900 });
  }, 150_000);

  afterAll(async () => {
    await session?.stop();
    if (session) console.log(`[hosted invoice browser test] timings: ${JSON.stringify(session.timings)}`);
  });

  it("fits a phone and a desktop, weighs little, has its PDF, and takes a payment through Checkout", async () => {
    const started = Date.now();
    const node = session!.node;
    // Untyped, as in support-dev.ts: the project has no @types/node.
    const load = (name: string): Promise<any> => import(/* @vite-ignore */ name);
    const zlib: { gzipSync(data: Uint8Array, options: { level: number }): Uint8Array } = await load("node:zlib");
    const fs: { writeFileSync(path: string, data: Uint8Array): void } = await load("node:fs");
    const inv = await finalizedInvoice();
    const url: string = inv.hosted_invoice_url;
    expect(url.startsWith(`${session!.base}/invoices/h/`)).toBe(true);

    const page = await session!.browser.newPage();
    // A CSP violation (a blocked style, a blocked form redirect) is a console error: any fails the test.
    const consoleErrors: string[] = [];
    page.on("console", (msg) => {
      // The emulator's own Checkout page (another origin) asks for a favicon it answers 401 to: not ours to judge.
      if (msg.type() === "error" && page.url().startsWith(session!.base)) consoleErrors.push(`${page.url()}: ${msg.text()}`);
    });
    page.on("pageerror", (err) => consoleErrors.push(`${page.url()}: ${err.message}`));
    const requests: string[] = [];
    page.on("request", (req) => requests.push(req.url()));

    node.mkdirSync(`${ROOT}test-results`, { recursive: true });
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      requests.length = 0;
      await page.goto(url);
      // One request: no script, stylesheet, font or image behind the document.
      expect(requests).toEqual([url]);
      expect(await page.getByTestId("test-mode-banner").isVisible()).toBe(true);
      expect(await page.getByTestId("amount-due").innerText()).toBe("$27.50");
      expect(await page.getByTestId("pay").isVisible()).toBe(true);
      expect(await page.getByTestId("bill-to").innerText()).toContain("Müller & Søn");
      expect(await overflow(page), `horizontal overflow at ${width} px`).toBeLessThanOrEqual(0);
      // Every amount is inside the window and on one line (never "$2" above "7.50").
      for (const cell of await page.locator("td.num:visible").all()) {
        const box = (await cell.boundingBox())!;
        expect(box.x + box.width, `a cell past the right edge at ${width} px`).toBeLessThanOrEqual(width + 0.5);
        const lines = await cell.evaluate((el) => {
          const range = (globalThis as unknown as { document: { createRange(): { selectNodeContents(n: unknown): void; getClientRects(): { length: number } } } }).document.createRange();
          range.selectNodeContents(el);
          return range.getClientRects().length;
        });
        expect(lines, `${await cell.innerText()} wraps at ${width} px`).toBeLessThanOrEqual(1);
      }
      // On a phone the quantity and unit price move under the description instead of taking columns.
      const unitColumn = await page.locator("th.unit").isVisible();
      expect(unitColumn).toBe(width > 600);
      expect(await page.locator(".qty-m").first().isVisible()).toBe(width <= 600);
      const shot = `${ROOT}test-results/hosted-invoice-${width}.png`;
      await page.screenshot({ path: shot, fullPage: true });
      expect(node.statSync(shot).size).toBeGreaterThan(10_000);
    }

    // Page weight: the HTML as sent, and gzipped as a CDN would send it.
    const html = new Uint8Array(await (await fetch(url)).arrayBuffer());
    const gzipped = zlib.gzipSync(html, { level: 9 }).length;
    console.log(`[hosted invoice browser test] page weight: ${html.length} bytes, ${gzipped} gzipped, 1 request`);
    expect(html.length).toBeLessThan(MAX_PAGE_BYTES);

    // The PDF from the page's link.
    const pdfHref = await page.getByTestId("pdf-link").getAttribute("href");
    const pdf = await fetch(new URL(pdfHref!, url));
    expect(pdf.headers.get("content-type")).toBe("application/pdf");
    const pdfBytes = new Uint8Array(await pdf.arrayBuffer());
    expect(new TextDecoder().decode(pdfBytes.slice(0, 5))).toBe("%PDF-");
    fs.writeFileSync(`${ROOT}test-results/hosted-invoice.pdf`, pdfBytes);
    console.log(`[hosted invoice browser test] PDF: ${pdfBytes.length} bytes`);

    // Pay: Checkout (the emulator's page), a card, and back to the invoice, which turns Paid once Stripe's webhook lands.
    await page.setViewportSize({ width: 390, height: 900 });
    await follow(page, () => page.getByTestId("pay").click());
    expect(page.url()).toMatch(/\/checkout\/cs_test_/);
    await follow(page, () => page.getByRole("button", { name: /4242424242424242/ }).click());
    await follow(page, () => page.getByRole("link", { name: "Back to the merchant" }).click());
    expect(page.url()).toBe(`${url}?payment=success`);
    // Stripe's webhook lands on its own time: expect.poll reloads the page until the badge says so.
    await expect
      .poll(
        async () => {
          await page.goto(url);
          return page.locator("h1 .badge").innerText();
        },
        { timeout: 30_000 },
      )
      .toBe("Paid");
    expect(await page.getByTestId("pay").count()).toBe(0);
    expect(await page.getByTestId("notice").innerText()).toBe("This invoice is paid. Thank you.");
    expect((await api("GET", `/v1/invoices/${inv.id}`)).body).toMatchObject({ status: "paid", payment_status: "succeeded" });
    await page.screenshot({ path: `${ROOT}test-results/hosted-invoice-paid-390.png`, fullPage: true });

    expect(consoleErrors).toEqual([]);
    session!.timings.hosted_flow_ms = Date.now() - started;
  }, 180_000);
});
