// Usage-based → Invoices: list with filters, an invoice's lines with their tier breakdown, its payment panel, credit
// notes and regeneration links, and the actions on it (finalize, void, mark paid, charge, payment link), each behind a
// confirmation step.
import type { InvoiceView } from "../../ledger/types";
import { INVOICE_STATUSES, ListInvoicesQuery } from "../../schemas/invoices";
import { serviceContext, type ServiceContext } from "../../services/context";
import { getInvoice, invoiceAction, listInvoices } from "../../services/invoices";
import { createPaymentLink, payInvoice } from "../../services/payments";
import { date, dateTime, money, quantity, rate } from "../format";
import { attempt, parseWith } from "../forms";
import { Badge, Csrf, Pager } from "../layout";
import { customerChoices, customerNames } from "../lookups";
import { callerIn, db, errorStatus, newPages, queryOf, render, type DashboardContext } from "../page";
import { CustomerStatusFilters } from "../filters";
import { CustomerViewLinks } from "../hosted-invoice-link";
import { InvoiceTable } from "../tables";
import { CorrectionLinks, invoiceRegeneratePages, RegenerateButton } from "./invoice-regenerate";
import { PaymentPanel } from "./invoice-payment";
import { paymentAttemptsOf } from "../../services/payment-history";
import { creditNotePages, CreditNoteButton, CreditNotesSection, CreditedRows } from "./credit-note-new";

/**
 * The buttons of an invoice page. Adding one (e.g. Stripe's payment link) is one entry here: when it shows, what
 * the confirmation says, and which service it calls. `run` may return a URL to send the user to instead.
 */
export const INVOICE_ACTIONS: {
  action: string;
  label: string;
  shows: (inv: InvoiceView) => boolean;
  confirm: string;
  danger?: boolean;
  run: (ctx: ServiceContext, id: string, origin: string) => Promise<{ redirect?: string; link?: string } | void>;
}[] = [
  {
    action: "finalize",
    label: "Finalize",
    shows: (inv) => inv.status === "draft",
    confirm: "Finalizing locks the amounts and assigns the next invoice number. Events that arrive later for this period are not billed.",
    run: async (ctx, id) => void (await invoiceAction(ctx, id, "finalize")),
  },
  {
    action: "mark_paid",
    label: "Mark paid",
    shows: (inv) => inv.status === "finalized",
    confirm: "Record that this invoice was paid outside Meterline (bank transfer, cheque…).",
    run: async (ctx, id) => void (await invoiceAction(ctx, id, "mark_paid")),
  },
  {
    action: "pay",
    label: "Charge now",
    shows: (inv) => inv.status === "finalized",
    confirm: "Charges the customer's saved Stripe payment method now for the amount due. A decline is recorded on the invoice.",
    run: async (ctx, id) => void (await payInvoice(ctx, id)),
  },
  {
    action: "payment_link",
    label: "Payment link",
    shows: (inv) => inv.status === "finalized",
    confirm: "Creates a Stripe Checkout link (valid 23 hours) to send to the customer; paying through it also saves the card for auto-pay.",
    // NOTE: the link is shown on the invoice page, not redirected to: the CSP's form-action 'self' blocks a
    // cross-site redirect after a form post, and the person usually wants to copy it to the customer anyway.
    run: async (ctx, id, origin) => ({ link: (await createPaymentLink(ctx, id, { origin })).url }),
  },
  {
    action: "void",
    label: "Void",
    shows: (inv) => inv.status === "draft" || inv.status === "finalized",
    confirm: "Voiding cancels the invoice for good. It stays listed (with its number) but nothing is owed.",
    danger: true,
    run: async (ctx, id) => void (await invoiceAction(ctx, id, "void")),
  },
];

export const invoicePages = newPages();

invoicePages.get("/", async (c) => {
  const caller = callerIn(c);
  const q = queryOf(c, ["customer_id", "status", "cursor"]);
  const [page, customers] = await Promise.all([listInvoices(c.env, caller, parseWith(ListInvoicesQuery, q)), customerChoices(db(c), caller)]);
  const names = await customerNames(db(c), caller, page.data.map((i) => i.customer_id));
  return render(
    c,
    "Invoices",
    <>
      <h1>Invoices</h1>
      <p class="sub">Drafts update live with every event; finalized invoices never change amount.</p>
      <CustomerStatusFilters customers={customers} customerId={q.customer_id} statuses={INVOICE_STATUSES} status={q.status} />
      <InvoiceTable invoices={page.data} names={names} />
      <Pager next={page.next_cursor} base="/dashboard/invoices" params={{ customer_id: q.customer_id, status: q.status }} />
    </>,
  );
});

async function detailPage(c: DashboardContext, error: string | null = null, status: 200 | 400 | 404 | 409 | 422 = 200, paymentLink: string | null = null) {
  const caller = callerIn(c);
  const inv = await getInvoice(c.env, caller, c.req.param("id")!);
  const [names, attempts] = await Promise.all([customerNames(db(c), caller, [inv.customer_id]), paymentAttemptsOf(db(c), caller, inv.id)]);
  const cur = inv.currency;
  return render(
    c,
    inv.number !== null ? `Invoice #${inv.number}` : "Draft invoice",
    <>
      <p class="muted">
        <a href="/dashboard/invoices">Invoices</a> /
      </p>
      <h1>
        {inv.number !== null ? `Invoice #${inv.number}` : "Draft invoice"} <Badge status={inv.status} />
      </h1>
      <p class="sub">
        <a href={`/dashboard/customers/${inv.customer_id}`}>{names.get(inv.customer_id)}</a> · {date(inv.period_start)} → {date(inv.period_end)}
      </p>
      {error ? (
        <div class="form-error" role="alert">
          {error}
        </div>
      ) : null}
      {paymentLink ? (
        <div class="card" data-testid="payment-link">
          <strong>Payment link</strong> (send it to the customer):{" "}
          <a href={paymentLink} class="mono">
            {paymentLink}
          </a>
        </div>
      ) : null}
      <PaymentPanel inv={inv} attempts={attempts} />
      <div class="card">
        <dl class="props">
          <dt>ID</dt>
          <dd class="mono">{inv.id}</dd>
          <dt>Period</dt>
          <dd>
            {dateTime(inv.period_start)} → {dateTime(inv.period_end)}
          </dd>
          <dt>Invoice date</dt>
          <dd>{dateTime(inv.invoice_date)}</dd>
          <dt>Due</dt>
          <dd>{dateTime(inv.due_date)}</dd>
          <dt>Payment</dt>
          <dd>
            {inv.payment_status}
            {inv.paid_at ? `, paid ${dateTime(inv.paid_at)}` : ""} · auto-pay {inv.auto_pay ? "on" : "off"}
          </dd>
          <dt>{inv.kind === "credit_purchase" ? "Kind" : "Contract"}</dt>
          <dd>
            {inv.contract_id === null ? (
              "Credit purchase (prepaid grant)"
            ) : (
              <a href={`/dashboard/contracts/${inv.contract_id}`} class="mono">
                {inv.contract_id}
              </a>
            )}
          </dd>
          <CorrectionLinks inv={inv} />
          <CustomerViewLinks env={c.env} caller={caller} origin={new URL(c.req.url).origin} inv={inv} />
        </dl>
        <div class="actions">
          {INVOICE_ACTIONS.filter((a) => a.shows(inv)).map((a) => (
            <a class={`button${a.danger ? " danger" : " secondary"}`} href={`/dashboard/invoices/${inv.id}/${a.action}`} data-action={a.action}>
              {a.label}
            </a>
          ))}
          <RegenerateButton inv={inv} />
          <CreditNoteButton inv={inv} />
        </div>
      </div>

      <table data-testid="invoice-lines">
        <thead>
          <tr>
            <th>Item</th>
            <th class="num">Quantity</th>
            <th class="num">Unit price</th>
            <th class="num">Amount</th>
          </tr>
        </thead>
        <tbody>
          {inv.line_items.map((l) => (
            <>
              <tr>
                <td>
                  {l.name}
                  {l.group ? <span class="muted"> · {Object.entries(l.group).map(([k, v]) => `${k}: ${v ?? "(none)"}`).join(", ")}</span> : null}
                  {l.description ? <div class="explain">{l.description}</div> : null}
                </td>
                <td class="num">{quantity(l.quantity)}</td>
                <td class="num">{l.unit_price ? rate(l.unit_price, cur) : ""}</td>
                <td class="num">{money(l.amount, cur)}</td>
              </tr>
              {(l.tiers ?? []).map((t) => (
                <tr class="tier">
                  <td style="padding-left:28px">
                    Tier {quantity(t.from)} – {t.to === null ? "∞" : quantity(t.to)}
                    {t.flat_price ? ` (+ ${rate(t.flat_price, cur)} flat)` : ""}
                  </td>
                  <td class="num">{quantity(t.quantity)}</td>
                  <td class="num">{rate(t.unit_price, cur)}</td>
                  <td class="num">{money(t.amount, cur)}</td>
                </tr>
              ))}
            </>
          ))}
          <tr>
            <td colspan={3}>Subtotal</td>
            <td class="num">{money(inv.subtotal, cur)}</td>
          </tr>
          <tr class={inv.credits_applied.length ? "" : "total"}>
            <td colspan={3}>Total</td>
            <td class="num" data-testid="invoice-total">
              {money(inv.total, cur)}
            </td>
          </tr>
          {inv.credits_applied.map((a) => (
            <tr data-testid="invoice-credit">
              <td colspan={3}>
                Credit applied · <a href={`/dashboard/customers/${inv.customer_id}#credits`} class="mono">{a.grant_id}</a>
              </td>
              <td class="num">−{money(a.amount, cur)}</td>
            </tr>
          ))}
          <CreditedRows inv={inv} />
          {inv.credits_applied.length ? (
            <tr class="total">
              <td colspan={3}>Amount due</td>
              <td class="num" data-testid="invoice-amount-due">
                {money(inv.amount_due, cur)}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <CreditNotesSection c={c} inv={inv} />
    </>,
    status,
  );
}

invoicePages.get("/:id", (c) => detailPage(c));

for (const a of INVOICE_ACTIONS) {
  invoicePages.get(`/:id/${a.action}`, async (c) => {
    const inv = await getInvoice(c.env, callerIn(c), c.req.param("id"));
    return render(
      c,
      `${a.label} invoice`,
      <div class="card">
        <h1>
          {a.label} {inv.number !== null ? `invoice #${inv.number}` : "this draft invoice"} ({money(inv.amount_due, inv.currency)} due)?
        </h1>
        <p>{a.confirm}</p>
        <form method="post" action={`/dashboard/invoices/${inv.id}/${a.action}`}>
          <Csrf token={c.get("page").csrf} />
          <div class="actions">
            <button type="submit" class={a.danger ? "danger" : ""} data-confirm={a.action}>
              Yes, {a.label.toLowerCase()}
            </button>
            <a href={`/dashboard/invoices/${inv.id}`}>Go back</a>
          </div>
        </form>
      </div>,
    );
  });

  invoicePages.post(`/:id/${a.action}`, async (c) => {
    const id = c.req.param("id");
    const result = await attempt(() => a.run(serviceContext(c), id, new URL(c.req.url).origin));
    if (!result.ok) {
      if (result.error.status === 404) throw result.error;
      return detailPage(c, result.error.message, errorStatus(result.error.status));
    }
    if (result.value && result.value.link) return detailPage(c, null, 200, result.value.link);
    return c.redirect(result.value && result.value.redirect ? result.value.redirect : `/dashboard/invoices/${id}`, 303);
  });
}

// Regenerate (SPEC §18) has its own page: it explains the new draft rather than one line of INVOICE_ACTIONS.
invoicePages.route("/", invoiceRegeneratePages);

// Credit notes (SPEC §18): a form and a confirmation page of their own (credit-note-new.tsx).
invoicePages.route("/", creditNotePages);
