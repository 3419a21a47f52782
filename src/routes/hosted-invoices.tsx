// /invoices/h/:token: the customer-facing invoice page, its PDF and its Pay button. No sign-in: the signed token is the credential.
import { Hono, type Context, type MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { ApiError, notFound } from "../errors";
import { TOKEN_PATTERN } from "../http/invoice-links";
import { invoiceDocument } from "../hosted/invoice-document";
import { HostedErrorPage, InvoicePage, type InvoicePageProps } from "../hosted/page";
import { invoicePdf } from "../hosted/pdf";
import { HOSTED_INVOICE_PATH, loadHostedInvoice, payHostedInvoice, type HostedInvoice } from "../services/hosted-invoices";

/**
 * NOTE: the page runs no script and loads nothing else (its icon is an empty data: URL), so the policy forbids both. form-action allows https (and the
 * Stripe emulator in development) because Pay answers with a redirect to Stripe Checkout, and browsers apply
 * form-action to a form's redirects; Checkout's host is Stripe's to choose (custom domains exist), so it is not pinned.
 * The token is in the URL, so no Referer carries it to another site, nothing caches the page, and robots skip it.
 */
const securityHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const emulator = c.env.STRIPE_API_URL ? ` ${new URL(c.env.STRIPE_API_URL).origin}` : "";
  c.header(
    "Content-Security-Policy",
    `default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self' https:${emulator}; frame-ancestors 'none'; base-uri 'none'`,
  );
  c.header("X-Frame-Options", "DENY");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "no-referrer");
  c.header("Cache-Control", "private, no-store");
  c.header("X-Robots-Tag", "noindex, nofollow");
};

/** The token from the path, checked for shape before any crypto or lookup runs. */
function tokenOf(c: Context<AppEnv>): string {
  const token = c.req.param("token") ?? "";
  if (!TOKEN_PATTERN.test(token)) throw notFound("invoice");
  return token;
}

const pagePath = (c: Context<AppEnv>, token: string) => `${new URL(c.req.url).origin}${HOSTED_INVOICE_PATH}/${token}`;

/** What the customer should read first, from the invoice and the way back from Checkout (?payment=success). */
function noticeOf(h: HostedInvoice, returned: boolean): InvoicePageProps["notice"] {
  const inv = h.invoice;
  if (inv.status === "void") return { kind: "void", text: "This invoice was voided. Nothing is owed on it." };
  if (inv.status === "paid") return { kind: "ok", text: returned ? "Thank you: your payment was received." : "This invoice is paid. Thank you." };
  if (returned) return { kind: "ok", text: "Thank you: your payment is being confirmed. This page shows Paid as soon as Stripe confirms it." };
  if (inv.payment_status === "pending") return { kind: "info", text: "A payment of this invoice is being processed." };
  if (inv.payment_status === "failed" && h.payable) return { kind: "error", text: "The last automatic payment of this invoice failed. You can pay it below." };
  return null;
}

function renderPage(c: Context<AppEnv>, token: string, h: HostedInvoice, error: ApiError | null = null) {
  const returned = c.req.query("payment") === "success";
  const base = `${HOSTED_INVOICE_PATH}/${token}`;
  const notice = error ? { kind: "error" as const, text: `${error.message}.` } : noticeOf(h, returned);
  // Just back from Checkout: no second Pay button while Stripe's confirmation is on its way.
  const payAction = h.payable && !returned ? `${base}/pay` : null;
  const status = error ? (error.status >= 500 ? 502 : 409) : 200;
  return c.html(<InvoicePage doc={invoiceDocument(h)} payAction={payAction} pdfHref={`${base}/pdf`} notice={notice} />, status);
}

export const hostedInvoiceRoutes = new Hono<AppEnv>();

hostedInvoiceRoutes.use("*", securityHeaders);

hostedInvoiceRoutes.get("/:token", async (c) => {
  const token = tokenOf(c);
  return renderPage(c, token, await loadHostedInvoice(c.env, token));
});

hostedInvoiceRoutes.get("/:token/pdf", async (c) => {
  const token = tokenOf(c);
  const h = await loadHostedInvoice(c.env, token);
  const doc = invoiceDocument(h);
  const bytes = await invoicePdf(doc, {
    hostedUrl: pagePath(c, token),
    issuedAt: new Date(Date.parse(h.invoice.invoice_date ?? h.invoice.created_at)),
    payable: h.payable,
  });
  return c.body(bytes, 200, { "Content-Type": "application/pdf", "Content-Disposition": `inline; filename="${doc.fileName}"` });
});

/** Pay: a fresh Stripe Checkout Session for the amount due, then off to it (303, so the browser GETs Checkout). */
hostedInvoiceRoutes.post("/:token/pay", async (c) => {
  const token = tokenOf(c);
  try {
    const url = await payHostedInvoice(
      { env: c.env, now: c.get("now"), defer: (work) => c.executionCtx.waitUntil(work.catch((err: unknown) => console.error("deferred work failed", err))) },
      token,
      new URL(c.req.url).origin,
    );
    return c.redirect(url, 303);
  } catch (err) {
    // Paid meanwhile, Stripe unreachable, Stripe settings removed: the page again, saying so, without a Pay button.
    if (!(err instanceof ApiError) || err.status === 404) throw err;
    const h = await loadHostedInvoice(c.env, token);
    return renderPage(c, token, { ...h, payable: false }, err);
  }
});

hostedInvoiceRoutes.onError((err, c) => {
  if (err instanceof ApiError && err.status === 404) {
    return c.html(
      <HostedErrorPage title="Invoice not found" message="This invoice link is not valid, or the invoice cannot be shown. Ask the sender for a new link." />,
      404,
    );
  }
  console.error("hosted invoice error", c.req.method, c.req.path, err);
  return c.html(<HostedErrorPage title="Something went wrong" message="The error has been logged. Please try again later." />, 500);
});
