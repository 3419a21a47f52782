// The hosted invoice page a customer opens from an emailed link: server-rendered, no script, readable on a phone.
import { raw } from "hono/html";
import type { FC, PropsWithChildren } from "hono/jsx";
import type { InvoiceDocument } from "./invoice-document";

// NOTE: one small inline stylesheet and no script, font or image: the page is a single request (see docs/api.md for its
// weight), and the CSP can forbid everything else.
const CSS = `
:root { --ink:#1d2433; --muted:#5b6478; --line:#e3e6ee; --bg:#f6f7fb; --accent:#3451d1; --test:#f5820b; --ok:#1b7f3b; --danger:#c62828; }
* { box-sizing:border-box; }
body { margin:0; font:15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color:var(--ink); background:var(--bg); }
.test-banner { background:var(--test); color:#fff; text-align:center; font-weight:600; padding:6px 12px; }
.sheet { max-width:860px; margin:24px auto; background:#fff; border:1px solid var(--line); border-radius:10px; padding:28px 32px; }
.top { display:flex; justify-content:space-between; align-items:flex-start; gap:16px; flex-wrap:wrap; }
.seller { font-size:14px; color:var(--muted); font-weight:600; overflow-wrap:anywhere; }
h1 { font-size:24px; margin:2px 0 0; } h2 { font-size:12px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); margin:0 0 6px; }
.due { text-align:right; } .due .amount { font-size:28px; font-weight:700; font-variant-numeric:tabular-nums; overflow-wrap:anywhere; }
.muted { color:var(--muted); }
.badge { display:inline-block; vertical-align:middle; border-radius:10px; padding:1px 9px; font-size:12px; font-weight:600; background:#e5ecff; color:#2c43b8; }
.badge.paid { background:#e3f5e8; color:var(--ok); } .badge.void { background:#fde8e8; color:var(--danger); }
.notice { border-radius:6px; padding:10px 14px; margin:16px 0 0; background:#eef2ff; }
.notice.ok { background:#e3f5e8; } .notice.error { background:#fdecec; color:var(--danger); } .notice.void { background:#fde8e8; }
form.pay { margin:18px 0 0; }
form.pay button { font:inherit; font-weight:600; font-size:16px; padding:10px 22px; border-radius:6px; border:0; background:var(--accent); color:#fff; cursor:pointer; width:100%; max-width:320px; }
.meta { display:grid; grid-template-columns:1fr 1fr; gap:18px 28px; margin:26px 0 22px; }
.meta p { margin:0; overflow-wrap:anywhere; }
dl.facts { display:grid; grid-template-columns:auto 1fr; gap:2px 14px; margin:0; font-size:14px; }
dl.facts dt { color:var(--muted); } dl.facts dd { margin:0; text-align:right; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:9px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:12px; text-transform:uppercase; letter-spacing:.05em; color:var(--muted); font-weight:600; }
/* An amount never breaks inside ("$1" / "2.50" would misread); the description column gives way instead. */
.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.item { overflow-wrap:anywhere; width:100%; }
.detail, .qty-m { font-size:13px; color:var(--muted); }
.qty-m { display:none; }
tr.tier td { font-size:13px; color:var(--muted); border-bottom-style:dashed; } tr.tier td.item { padding-left:26px; }
table.totals { margin-top:8px; } table.totals td { border:0; padding:5px 8px; } table.totals td.label { width:100%; text-align:right; }
table.totals tr.total td, table.totals tr.due td { font-weight:700; } table.totals tr.due td { font-size:17px; border-top:2px solid var(--ink); padding-top:9px; }
footer { margin-top:26px; font-size:13px; display:flex; justify-content:space-between; gap:12px; flex-wrap:wrap; }
a { color:var(--accent); }
@media (max-width:600px) {
  .sheet { margin:0; border:0; border-radius:0; padding:18px 16px; }
  .due { text-align:left; }
  .meta { grid-template-columns:1fr; }
  th.qty, td.qty, th.unit, td.unit { display:none; }
  .qty-m { display:block; }
}
@media print { body { background:#fff; } .sheet { border:0; margin:0; } form.pay { display:none; } }
`;

// The doctype keeps Chromium and friends in standards mode (quirks mode would size the tables differently).
export const HostedDocument: FC<PropsWithChildren<{ title: string; test: boolean }>> = ({ title, test, children }) => (
  <>
  {raw("<!doctype html>")}
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="robots" content="noindex, nofollow" />
      {/* An empty icon, so the browser does not ask for /favicon.ico (a second request, and a 404). */}
      <link rel="icon" href="data:," />
      <title>{title}</title>
      <style>{CSS}</style>
    </head>
    <body>
      {test ? (
        <div class="test-banner" data-testid="test-mode-banner">
          TEST MODE — a test invoice: nothing on this page is charged for real.
        </div>
      ) : null}
      {children}
    </body>
  </html>
  </>
);

export interface InvoicePageProps {
  doc: InvoiceDocument;
  /** Where the Pay form posts, or null when the page offers no payment. */
  payAction: string | null;
  pdfHref: string;
  notice: { kind: "info" | "ok" | "error" | "void"; text: string } | null;
}

const STATUS_LABELS = { finalized: "Open", paid: "Paid", void: "Void" } as const;

const Lines: FC<{ doc: InvoiceDocument }> = ({ doc }) => (
  <table class="lines" data-testid="invoice-lines">
    <thead>
      <tr>
        <th>Description</th>
        <th class="num qty">Qty</th>
        <th class="num unit">Unit price</th>
        <th class="num">Amount</th>
      </tr>
    </thead>
    <tbody>
      {doc.lines.map((l) => (
        <>
          <tr class="line">
            <td class="item">
              {l.name}
              {l.details.map((d) => (
                <div class="detail">{d}</div>
              ))}
              <div class="qty-m">
                {l.quantity}
                {l.unitPrice ? ` × ${l.unitPrice}` : ""}
              </div>
            </td>
            <td class="num qty">{l.quantity}</td>
            <td class="num unit">{l.unitPrice}</td>
            <td class="num">{l.amount}</td>
          </tr>
          {l.tiers.map((t) => (
            <tr class="tier" data-testid="invoice-tier">
              <td class="item">
                {t.label}
                <div class="qty-m">
                  {t.quantity} × {t.unitPrice}
                </div>
              </td>
              <td class="num qty">{t.quantity}</td>
              <td class="num unit">{t.unitPrice}</td>
              <td class="num">{t.amount}</td>
            </tr>
          ))}
        </>
      ))}
    </tbody>
  </table>
);

export const InvoicePage: FC<InvoicePageProps> = ({ doc, payAction, pdfHref, notice }) => (
  <HostedDocument title={`${doc.title} from ${doc.seller}`} test={doc.test}>
    <main class="sheet">
      <header class="top">
        <div>
          <div class="seller" data-testid="seller">
            {doc.seller}
          </div>
          <h1>
            {doc.title} <span class={`badge ${doc.status}`}>{STATUS_LABELS[doc.status]}</span>
          </h1>
        </div>
        <div class="due">
          <div class="amount" data-testid="amount-due">
            {doc.amountDue}
          </div>
          <div class="muted" data-testid="headline">
            {doc.headline}
          </div>
        </div>
      </header>
      {notice ? (
        <div class={`notice ${notice.kind}`} role={notice.kind === "error" ? "alert" : "status"} data-testid="notice">
          {notice.text}
        </div>
      ) : null}
      {payAction ? (
        <form class="pay" method="post" action={payAction}>
          <button type="submit" data-testid="pay">
            Pay {doc.amountDue}
          </button>
        </form>
      ) : null}
      <section class="meta">
        <div data-testid="bill-to">
          <h2>Bill to</h2>
          <p>
            <strong>{doc.billTo.name}</strong>
            {doc.billTo.email ? (
              <>
                <br />
                {doc.billTo.email}
              </>
            ) : null}
          </p>
        </div>
        <dl class="facts">
          {doc.facts.map((f) => (
            <>
              <dt>{f.label}</dt>
              <dd>{f.value}</dd>
            </>
          ))}
        </dl>
      </section>
      <Lines doc={doc} />
      <table class="totals" data-testid="invoice-totals">
        <tbody>
          {doc.totals.map((t) => (
            <tr class={t.kind} data-testid={`total-${t.kind}`}>
              <td class="label">{t.label}</td>
              <td class="num">{t.amount}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <footer>
        <a href={pdfHref} data-testid="pdf-link">
          Download PDF
        </a>
        <span class="muted">Billed by {doc.seller} through Meterline</span>
      </footer>
    </main>
  </HostedDocument>
);

export const HostedErrorPage: FC<{ title: string; message: string }> = ({ title, message }) => (
  <HostedDocument title={title} test={false}>
    <main class="sheet">
      <h1>{title}</h1>
      <p class="muted">{message}</p>
    </main>
  </HostedDocument>
);
