// The customer-facing invoice through the real app: hosted_invoice_url on the API, the page and PDF it leads to (lines,
// tiers, credits, amount due), the Pay button and its Checkout round trip, and refusals of forged or foreign links.
import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodePDFRawStream, PDFArray, PDFDocument, PDFRawStream } from "pdf-lib";
import { describe, expect, it } from "vitest";
import { signInvoiceLink, TOKEN_LENGTH } from "../../src/http/invoice-links";
import { call, newAccount, type TestAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";
import { runBilling } from "../support/billing";
import { connectStripe, deliver, deliveries, stripeApi, type StripeSetup } from "../support/stripe";

const START = "2026-01-01T00:00:00Z";
const BASE = "https://meterline.test";
const CUSTOMER = `Jane's Café <b>& Co</b>`;

interface World {
  acct: TestAccount;
  key: string;
  stripe: StripeSetup | null;
  customer: string;
  planId: string;
}

/**
 * "Acme Analytics" bills a $20 platform fee and API calls graduated at $0.10 for the first 100 and $0.05 beyond, net
 * 30; the customer has a $5 "Welcome credit". 150 calls in January: $20 + $10 + $2.50 = $32.50, $27.50 due.
 */
async function world(opts: { stripe?: boolean; credit?: string; calls?: number } = {}): Promise<World> {
  const acct = await newAccount("Acme Analytics");
  const key = acct.test;
  const stripe = opts.stripe === false ? null : await connectStripe(acct);
  expect((await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "count" } })).status).toBe(201);
  const plan = await call("POST", "/v1/plans", {
    key,
    body: {
      name: "Growth",
      net_terms_days: 30,
      grace_period_hours: 0,
      prices: [
        { type: "fixed", name: "Platform fee", amount: "20.00" },
        { type: "usage", meter_code: "API", model: "graduated", tiers: [{ up_to: "100", unit_price: "0.10" }, { up_to: null, unit_price: "0.05" }] },
      ],
    },
  });
  expect(plan.status, JSON.stringify(plan.body)).toBe(201);
  const customer = await call("POST", "/v1/customers", { key, body: { name: CUSTOMER, email: "jane@example.com" } });
  expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id, start_date: START } })).status).toBe(201);
  const credit = opts.credit ?? "5.00";
  if (credit !== "0") {
    const g = await call("POST", `/v1/customers/${customer.body.id}/credit_grants`, {
      key,
      body: { name: "Welcome credit", amount: credit, currency: "USD", type: "promotional", effective_at: START },
    });
    expect(g.status, JSON.stringify(g.body)).toBe(201);
  }
  const events = Array.from({ length: opts.calls ?? 150 }, (_, i) => ({
    customer_id: customer.body.id,
    event_name: "api_call",
    idempotency_key: `call-${i}`,
    timestamp: "2026-01-10T12:00:00Z",
  }));
  if (events.length) expect((await call("POST", "/v1/events/batch", { key, body: { events } })).status).toBe(202);
  return { acct, key, stripe, customer: customer.body.id, planId: plan.body.id };
}

async function januaryInvoice(w: World) {
  const list = await call("GET", `/v1/invoices?customer_id=${w.customer}&limit=100`, { key: w.key });
  return list.body.data.find((i: any) => i.period_start === START);
}

/** The world's January invoice, finalized by the billing run. */
async function finalized(w: World) {
  expect((await runBilling(w.key, { as_of: "2026-02-01T01:00:00Z" })).body.status).toBe("completed");
  const inv = await januaryInvoice(w);
  expect(inv.status).not.toBe("draft");
  return (await call("GET", `/v1/invoices/${inv.id}`, { key: w.key })).body;
}

async function get(path: string, init: RequestInit = {}) {
  const res = await SELF.fetch(`${BASE}${path}`, { redirect: "manual", ...init });
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}

async function page(path: string, init: RequestInit = {}) {
  const res = await get(path, init);
  return { ...res, html: new TextDecoder().decode(res.bytes) };
}

/** The page's text as a reader sees it: tags dropped, entities decoded, whitespace collapsed. */
function textOf(html: string): string {
  return html
    .replace(/<style[\s\S]*?<\/style>/g, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}

/** The text of the element carrying this data-testid (its first one), up to its closing tag of the same name. */
function part(html: string, testId: string): string {
  const start = html.indexOf(`data-testid="${testId}"`);
  expect(start, `no ${testId} on the page`).toBeGreaterThan(-1);
  const open = html.lastIndexOf("<", start);
  const tag = /^<(\w+)/.exec(html.slice(open))![1]!;
  return textOf(html.slice(open, html.indexOf(`</${tag}>`, start) + tag.length + 3));
}

const pathOf = (url: string) => new URL(url).pathname + new URL(url).search;

/** Every string a PDF shows (pdf-lib writes each as a hex string for Tj), page by page, in drawing order. */
async function pdfText(bytes: Uint8Array): Promise<string> {
  const pdf = await PDFDocument.load(bytes);
  const shown: string[] = [];
  for (const p of pdf.getPages()) {
    const contents = p.node.Contents();
    const streams = contents instanceof PDFArray ? contents.asArray().map((r) => pdf.context.lookup(r)) : [contents];
    for (const s of streams) {
      if (!(s instanceof PDFRawStream)) continue;
      const ops = Array.from(decodePDFRawStream(s).decode(), (b) => String.fromCharCode(b)).join("");
      for (const m of ops.matchAll(/<([0-9A-Fa-f]*)>\s*Tj/g)) {
        shown.push(m[1]!.replace(/../g, (h) => String.fromCharCode(parseInt(h, 16))));
      }
    }
  }
  return shown.join("\n");
}

describe("hosted invoice page", () => {
  it("shows a finalized invoice as the customer sees it: seller, bill-to, lines with tiers, credit, amount due, Pay", async () => {
    const w = await world();
    const inv = await finalized(w);
    expect(inv).toMatchObject({ status: "finalized", number: 1, total: "32.50", amount_due: "27.50" });
    expect(inv.hosted_invoice_url).toMatch(new RegExp(`^${BASE}/invoices/h/[A-Za-z0-9_-]{${TOKEN_LENGTH}}$`));
    expect(inv.invoice_pdf).toBe(`${inv.hosted_invoice_url}/pdf`);
    // The same link every time (an emailed link keeps working), on the list too.
    const listed = (await call("GET", `/v1/invoices?customer_id=${w.customer}`, { key: w.key })).body.data.find((i: any) => i.id === inv.id);
    expect(listed.hosted_invoice_url).toBe(inv.hosted_invoice_url);

    const res = await page(pathOf(inv.hosted_invoice_url));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(res.headers.get("Cache-Control")).toBe("private, no-store");
    expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    expect(res.html.startsWith("<!doctype html>")).toBe(true);
    // The customer's name is text, never markup.
    expect(res.html).not.toContain("<b>& Co</b>");
    expect(part(res.html, "seller")).toBe("Acme Analytics");
    expect(part(res.html, "bill-to")).toBe(`Bill to ${CUSTOMER} jane@example.com`);
    expect(part(res.html, "amount-due")).toBe("$27.50");
    expect(part(res.html, "headline")).toBe("Due 2026-03-03");
    expect(part(res.html, "test-mode-banner")).toContain("TEST MODE");
    const text = textOf(res.html);
    expect(text).toContain("Invoice #1 Open");
    expect(text).toContain("Invoice date 2026-02-01 Due date 2026-03-03 Billing period 2026-01-01 – 2026-02-01");
    // Each line once with its quantity, unit price and amount; each tier of the graduated line under it.
    const lines = part(res.html, "invoice-lines");
    expect(lines).toContain("Platform fee 1 × $20.00 1 $20.00 $20.00");
    expect(lines).toMatch(/API calls 150 150 \$12\.50/);
    expect(lines).toContain("Up to 100 100 × $0.10 100 $0.10 $10.00");
    expect(lines).toContain("Above 100 50 × $0.05 50 $0.05 $2.50");
    expect(part(res.html, "invoice-totals")).toBe("Subtotal $32.50 Total $32.50 Credit applied: Welcome credit −$5.00 Amount due $27.50");
    expect(part(res.html, "pay")).toBe("Pay $27.50");
    expect(res.html).toContain(`action="${pathOf(inv.hosted_invoice_url)}/pay"`);
    expect(part(res.html, "pdf-link")).toBe("Download PDF");
  });

  it("has no link for a draft, and a link made for one anyway shows nothing (its amounts still move)", async () => {
    const w = await world();
    const draft = await januaryInvoice(w);
    expect(draft.status).toBe("draft");
    const got = (await call("GET", `/v1/invoices/${draft.id}`, { key: w.key })).body;
    expect(got).toMatchObject({ hosted_invoice_url: null, invoice_pdf: null });
    const token = await signInvoiceLink(env, { accountId: w.acct.id, mode: "test", invoiceId: draft.id });
    for (const suffix of ["", "/pdf"]) {
      const res = await page(`/invoices/h/${token}${suffix}`);
      expect(res.status).toBe(404);
      expect(res.html).toContain("Invoice not found");
      expect(res.html).not.toContain("Acme Analytics");
    }
  });

  it("answers 404 to altered, truncated, foreign-account and other-mode links, for the page, the PDF and Pay", async () => {
    const w = await world();
    const inv = await finalized(w);
    const token = new URL(inv.hosted_invoice_url).pathname.split("/").pop()!;
    const other = await newAccount("Other Co");
    const flip = (t: string, i: number) => `${t.slice(0, i)}${t[i] === "A" ? "B" : "A"}${t.slice(i + 1)}`;
    const forged = [
      flip(token, 10), // inside the account id
      flip(token, 30), // inside the invoice id
      flip(token, token.length - 3), // inside the MAC
      flip(token, token.length - 1), // the last character (also its unused bits)
      token.slice(0, -1),
      `${token}A`,
      "x".repeat(TOKEN_LENGTH),
      (await signInvoiceLink(env, { accountId: other.id, mode: "test", invoiceId: inv.id }))!,
      (await signInvoiceLink(env, { accountId: w.acct.id, mode: "live", invoiceId: inv.id }))!,
      (await signInvoiceLink(env, { accountId: w.acct.id, mode: "test", invoiceId: crypto.randomUUID() }))!,
      // Signed with another ENCRYPTION_KEY (another deployment).
      (await signInvoiceLink({ ENCRYPTION_KEY: btoa("another-deployment-key-32-bytes!!") }, { accountId: w.acct.id, mode: "test", invoiceId: inv.id }))!,
    ];
    expect(new Set(forged).size).toBe(forged.length);
    for (const t of forged) {
      for (const [method, suffix] of [["GET", ""], ["GET", "/pdf"], ["POST", "/pay"]] as const) {
        const res = await page(`/invoices/h/${t}${suffix}`, { method });
        expect(res.status, `${method} ${t}${suffix}`).toBe(404);
        expect(res.html).not.toContain("Acme Analytics");
      }
    }
    // The real link still works.
    expect((await page(`/invoices/h/${token}`)).status).toBe(200);
  });

  it("keeps live and test apart: a live invoice has its own link, no TEST banner, and no test-mode twin", async () => {
    const acct = await newAccount("Live Co");
    const key = acct.live;
    const plan = await call("POST", "/v1/plans", { key, body: { name: "Live", prices: [{ type: "fixed", name: "Seat", amount: "9.00" }] } });
    const customer = await call("POST", "/v1/customers", { key, body: { name: "Real Customer" } });
    await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id, start_date: START } });
    const draft = (await call("GET", `/v1/invoices?customer_id=${customer.body.id}`, { key })).body.data[0];
    const inv = (await call("POST", `/v1/invoices/${draft.id}/finalize`, { key })).body;
    expect(inv).toMatchObject({ status: "finalized", livemode: true });
    expect(inv.hosted_invoice_url).toMatch(/\/invoices\/h\//);
    const live = await page(pathOf(inv.hosted_invoice_url));
    expect(live.status).toBe(200);
    expect(live.html).not.toContain("test-mode-banner");
    expect(part(live.html, "amount-due")).toBe("$9.00");
    // No Stripe key in live mode: nothing to pay with here.
    expect(live.html).not.toContain('data-testid="pay"');
    // The test key cannot see it, and the same ids signed for test mode lead nowhere.
    expect((await call("GET", `/v1/invoices/${inv.id}`, { key: acct.test })).status).toBe(404);
    const asTest = await signInvoiceLink(env, { accountId: acct.id, mode: "test", invoiceId: inv.id });
    expect((await page(`/invoices/h/${asTest}`)).status).toBe(404);
  });
});

describe("hosted invoice PDF", () => {
  it("is a PDF of the same invoice: number, bill-to, lines, tiers, credit and amount due", async () => {
    const w = await world();
    const inv = await finalized(w);
    const res = await get(pathOf(inv.invoice_pdf));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/pdf");
    expect(res.headers.get("Content-Disposition")).toBe('inline; filename="invoice-1.pdf"');
    expect(new TextDecoder().decode(res.bytes.slice(0, 5))).toBe("%PDF-");
    const pdf = await PDFDocument.load(res.bytes);
    expect(pdf.getTitle()).toBe("Invoice #1 from Acme Analytics");
    expect(pdf.getPageCount()).toBe(1);
    const text = await pdfText(res.bytes);
    for (const expected of [
      "TEST MODE",
      "Acme Analytics",
      "$27.50",
      "Invoice #1",
      "Due 2026-03-03",
      // The standard fonts have é; the name is as written.
      CUSTOMER,
      "jane@example.com",
      "Platform fee",
      "$20.00",
      "API calls",
      "$12.50",
      "Up to 100",
      "Above 100",
      "$0.05",
      "$2.50",
      "Credit applied: Welcome credit",
      "-$5.00",
      "Amount due",
      inv.hosted_invoice_url,
    ]) {
      expect(text, expected).toContain(expected);
    }
    // The same invoice, the same document.
    expect((await get(pathOf(inv.invoice_pdf))).bytes).toEqual(res.bytes);
  });

  it("spreads a long invoice over pages and writes what the standard fonts cannot show as ?", async () => {
    const acct = await newAccount("東京 Widgets");
    const key = acct.test;
    const prices = Array.from({ length: 60 }, (_, i) => ({ type: "fixed", name: `Seat ${i + 1} ${"long-name-".repeat(i % 3 === 0 ? 12 : 1)}`, amount: "1.00" }));
    const plan = await call("POST", "/v1/plans", { key, body: { name: "Seats", grace_period_hours: 0, prices } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    const customer = await call("POST", "/v1/customers", { key, body: { name: "Zoë 🚀" } });
    await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id, start_date: START } });
    await runBilling(key, { as_of: "2026-02-01T01:00:00Z" });
    const inv = (await call("GET", `/v1/invoices?customer_id=${customer.body.id}&status=finalized`, { key })).body.data[0];
    const res = await get(pathOf(inv.invoice_pdf));
    expect(res.status).toBe(200);
    const pdf = await PDFDocument.load(res.bytes);
    expect(pdf.getPageCount()).toBeGreaterThan(1);
    const text = await pdfText(res.bytes);
    expect(text).toContain("?? Widgets");
    expect(text).toContain("Zoë ?");
    expect(text).toContain("Seat 60");
    expect(text).toContain("$60.00");
    expect(text).toContain(`Page 2 of ${pdf.getPageCount()}`);
    // The page itself shows every character as written.
    expect(textOf((await page(pathOf(inv.hosted_invoice_url))).html)).toContain("東京 Widgets");
  });
});

describe("Pay on the hosted page", () => {
  it("opens Stripe Checkout for the amount due, comes back to the page, and shows Paid once Stripe confirms", async () => {
    const w = await world();
    const inv = await finalized(w);
    const path = pathOf(inv.hosted_invoice_url);
    const pay = await page(`${path}/pay`, { method: "POST" });
    expect(pay.status).toBe(303);
    const checkout = pay.headers.get("Location")!;
    expect(checkout).toMatch(new RegExp(`^${env.STRIPE_API_URL}/checkout/cs_test_`));
    // Checkout's origin is allowed as a form redirect target (the emulator here; https for Stripe itself).
    expect(pay.headers.get("Content-Security-Policy")).toContain(`form-action 'self' https: ${new URL(env.STRIPE_API_URL!).origin}`);
    const sessionId = checkout.split("/").pop()!;
    const session = (await stripeApi(w.stripe!.sk, "GET", `/v1/checkout/sessions/${sessionId}`)).body;
    expect(session).toMatchObject({
      amount_total: 2750,
      success_url: `${inv.hosted_invoice_url}?payment=success`,
      cancel_url: inv.hosted_invoice_url,
      payment_intent_data: { setup_future_usage: "off_session" },
      metadata: { meterline_invoice_id: inv.id },
    });

    // Back from Checkout before Stripe's webhook: thanks, and no second Pay button.
    const back = await page(`${path}?payment=success`);
    expect(part(back.html, "notice")).toContain("being confirmed");
    expect(back.html).not.toContain('data-testid="pay"');

    await stripeApi(w.stripe!.sk, "POST", `/_emulator/checkout/${sessionId}/complete`, { payment_method: "pm_card_visa" });
    const [completed] = await deliveries(w.stripe!.sk, "checkout.session.completed");
    expect((await deliver(completed!)).status).toBe(200);
    const paid = await page(path);
    expect(paid.html).not.toContain('data-testid="pay"');
    expect(part(paid.html, "notice")).toBe("This invoice is paid. Thank you.");
    expect(textOf(paid.html)).toContain("Invoice #1 Paid");
    expect(part(paid.html, "invoice-totals")).toContain("Amount paid $27.50");
    expect(part(paid.html, "amount-due")).toBe("$0.00");
    // Paying again from a stale page is refused on the page itself, without a new Checkout Session.
    const again = await page(`${path}/pay`, { method: "POST" });
    expect(again.status).toBe(409);
    expect(part(again.html, "notice")).toContain("already paid");
  });

  it("is offered only when something is due, the invoice is open and Stripe is set up for the mode", async () => {
    // Without Stripe keys: the page, no button.
    const noStripe = await world({ stripe: false });
    const a = await finalized(noStripe);
    expect((await page(pathOf(a.hosted_invoice_url))).html).not.toContain('data-testid="pay"');
    const refused = await page(`${pathOf(a.hosted_invoice_url)}/pay`, { method: "POST" });
    expect(refused.status).toBe(409);
    expect(part(refused.html, "notice")).toContain("No Stripe key");

    // Covered by credit in full: paid at finalization, nothing to pay.
    const covered = await world({ credit: "100.00" });
    const b = await finalized(covered);
    expect(b).toMatchObject({ status: "paid", amount_due: "0.00" });
    const bPage = await page(pathOf(b.hosted_invoice_url));
    expect(bPage.html).not.toContain('data-testid="pay"');
    expect(part(bPage.html, "invoice-totals")).toBe("Subtotal $32.50 Total $32.50 Credit applied: Welcome credit −$32.50 Amount paid $0.00");

    // Void: still shown (the link was handed out), saying nothing is owed.
    const voided = await world();
    const c = await finalized(voided);
    const v = (await call("POST", `/v1/invoices/${c.id}/void`, { key: voided.key })).body;
    expect(v.hosted_invoice_url).toBe(c.hosted_invoice_url);
    const vPage = await page(pathOf(c.hosted_invoice_url));
    expect(vPage.status).toBe(200);
    expect(vPage.html).not.toContain('data-testid="pay"');
    expect(part(vPage.html, "notice")).toBe("This invoice was voided. Nothing is owed on it.");
    expect(part(vPage.html, "amount-due")).toBe("$0.00");
    expect(part(vPage.html, "total-due")).toBe("Amount due (void) $0.00");
  });
});

describe("the dashboard's invoice page", () => {
  it("links the customer view and its PDF once the invoice is finalized", async () => {
    const w = await world({ stripe: false });
    const draft = await januaryInvoice(w);
    const b = new Browser();
    await b.signIn(w.key);
    const before = await b.get(`/dashboard/invoices/${draft.id}`);
    expect(textOf(before.html)).toContain("Customer view Available once the invoice is finalized");
    const inv = await finalized(w);
    const after = await b.get(`/dashboard/invoices/${inv.id}`);
    expect(after.status).toBe(200);
    expect(after.html).toContain(`href="${inv.hosted_invoice_url}"`);
    expect(after.html).toContain(`href="${inv.invoice_pdf}"`);
    expect(part(after.html, "customer-view")).toBe(`Customer view · PDF ${inv.hosted_invoice_url}`);
  });
});
