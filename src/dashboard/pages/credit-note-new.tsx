// "Issue credit note" on an invoice (SPEC §18): the form (a whole amount or per line, reason, where the money goes,
// memo), a confirmation page showing what the service worked out (previewCreditNote), then issueCreditNote, the
// service POST /v1/invoices/:id/credit_notes calls; and the invoice page's button and list of its credit notes.
import type { FC } from "hono/jsx";
import { creditableByPrice, CREDIT_NOTE_REASONS, type NoteLine } from "../../domain/credit-notes";
import { fromMinorUnits, parseDecimal, toMinorUnits } from "../../domain/money";
import type { ApiError } from "../../errors";
import type { CreditNoteCheck } from "../../ledger/credit-notes";
import type { InvoiceView } from "../../ledger/types";
import { CreateCreditNoteBody, type CreateCreditNoteInput, type CreditNoteView } from "../../schemas/credit-notes";
import { serviceContext } from "../../services/context";
import { issueCreditNote, listCreditNotes, previewCreditNote } from "../../services/credit-notes";
import { getInvoice } from "../../services/invoices";
import { dateTime, money } from "../format";
import { attempt, fieldErrors, parseWith, type FieldErrors, type FormValues } from "../forms";
import { amountInput } from "../input";
import { Csrf, emptyForm, Field, FormError, SelectField, type FormState } from "../layout";
import { callerIn, db, errorStatus, newPages, postedForm, render, type DashboardContext } from "../page";

type Status = 200 | 400 | 404 | 409 | 422;

const invoicePath = (id: string) => `/dashboard/invoices/${id}`;
const title = (inv: InvoiceView) => (inv.number !== null ? `invoice #${inv.number}` : "this invoice");
const creditable = (inv: InvoiceView) => inv.status === "finalized" || inv.status === "paid";

const REASONS: Record<(typeof CREDIT_NOTE_REASONS)[number], string> = {
  duplicate: "Duplicate charge",
  product_unsatisfactory: "Product unsatisfactory",
  order_change: "Order change",
  other: "Other",
};

const REFUND_TO: Record<string, string> = {
  payment: "Refund the card payment (Stripe)",
  credit_grant: "Credit grant for the next invoices",
  none: "Nothing (recorded only)",
};

/** The invoice's credit notes, oldest first (an invoice has few; the API pages them). */
async function notesOf(c: DashboardContext, invoiceId: string): Promise<CreditNoteView[]> {
  const page = await listCreditNotes({ db: db(c), caller: callerIn(c) }, { invoice_id: invoiceId, limit: 100 });
  return page.data.reverse();
}

/** One form row per price the invoice bills (a price's lines are credited together), with what is left of it. */
function lineGroups(inv: InvoiceView, notes: CreditNoteView[]) {
  const room = creditableByPrice(
    { currency: inv.currency, lines: inv.line_items.map((l) => ({ price_id: l.price_id, name: l.name, amount: l.amount })) },
    notes.map((n) => ({ amount: n.amount, lines: n.lines })),
  );
  const seen = new Set<string>();
  return inv.line_items.flatMap((l) => {
    if (seen.has(l.price_id)) return [];
    seen.add(l.price_id);
    const left = room.get(l.price_id) ?? 0n;
    return [{ priceId: l.price_id, name: l.name, left: fromMinorUnits(left < 0n ? 0n : left, inv.currency) }];
  });
}
type Group = ReturnType<typeof lineGroups>[number];

const lineField = (i: number) => `line:${i}`;

/** What is still open to credit notes on the invoice: its total less what its notes credited. */
const leftToCredit = (inv: InvoiceView) => fromMinorUnits(toMinorUnits(inv.total, inv.currency) - toMinorUnits(inv.amount_credited, inv.currency), inv.currency);

async function load(c: DashboardContext) {
  const inv = await getInvoice(c.env, callerIn(c), c.req.param("id")!);
  const notes = await notesOf(c, inv.id);
  return { inv, notes, groups: lineGroups(inv, notes) };
}
type Loaded = Awaited<ReturnType<typeof load>>;

function formPage(c: DashboardContext, l: Loaded, form: FormState, status: Status = 200) {
  const { inv, groups } = l;
  const paid = inv.status === "paid";
  const refundOptions = [
    { value: "", label: paid ? "— choose —" : "Lower the amount due (default)" },
    ...Object.entries(REFUND_TO).map(([value, label]) => ({ value, label })),
  ];
  return render(
    c,
    "Issue credit note",
    <>
      <p class="muted">
        <a href="/dashboard/invoices">Invoices</a> / <a href={invoicePath(inv.id)}>{title(inv)}</a> /
      </p>
      <h1>Issue a credit note on {title(inv)}</h1>
      <p class="sub">
        The invoice keeps its lines; the note records what is credited, why and when. {money(leftToCredit(inv), inv.currency)} of its{" "}
        {money(inv.total, inv.currency)} total can still be credited.{" "}
        {paid
          ? "It is paid: say where the credit goes (a refund of the card payment, a credit grant for the next invoices, or nothing)."
          : `It is unpaid: the note lowers its amount due (${money(inv.amount_due, inv.currency)} now); anything beyond that goes where you say.`}
      </p>
      {!creditable(inv) ? (
        <div class="form-error" role="alert">
          Credit notes are issued on finalized or paid invoices; this one is {inv.status}. <a href={invoicePath(inv.id)}>Back to the invoice</a>
        </div>
      ) : (
        <div class="card">
          <form method="post" action={`${invoicePath(inv.id)}/credit_notes`}>
            <Csrf token={c.get("page").csrf} />
            <FormError state={form} />
            <h2 style="margin-top:0">1. What to credit</h2>
            <div class="grid">
              <Field state={form} name="amount" label={`Whole amount (${inv.currency})`} placeholder="5.00" hint="Or leave this empty and credit lines below" />
            </div>
            <table data-testid="credit-note-lines" style="margin-top:12px">
              <thead>
                <tr>
                  <th>Line</th>
                  <th class="num">Left to credit</th>
                  <th>Credit</th>
                </tr>
              </thead>
              <tbody>
                {groups.map((g, i) => (
                  <tr>
                    <td>{g.name}</td>
                    <td class="num">{money(g.left, inv.currency)}</td>
                    <td>
                      <Field state={form} name={lineField(i)} label={`Credit on ${g.name}`} placeholder="0.00" />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h2>2. Why, and where the money goes</h2>
            <div class="grid">
              <SelectField state={form} name="reason" label="Reason" options={Object.entries(REASONS).map(([value, label]) => ({ value, label }))} />
              <SelectField
                state={form}
                name="refund_to"
                label="Beyond the amount due"
                options={refundOptions}
                hint={paid ? "The invoice is paid: all of the note goes here" : "Only what the note credits beyond the amount due goes here"}
              />
              <Field state={form} name="memo" label="Memo" placeholder="Duplicate charge for March 3" hint="Kept with the note" />
            </div>
            <div class="actions">
              <button type="submit">Review the credit note</button>
              <a href={invoicePath(inv.id)}>Cancel</a>
            </div>
          </form>
        </div>
      )}
    </>,
    status,
  );
}

/** The form → the API's body, checked by its schema; amounts as people type them. */
function readNote(values: FormValues, l: Loaded): { ok: true; body: CreateCreditNoteInput; rows: number[] } | { ok: false; errors: FieldErrors; status: Status } {
  const cur = l.inv.currency;
  const errors: FieldErrors = {};
  const body: Record<string, unknown> = { reason: values.reason || undefined, refund_to: values.refund_to || undefined, memo: values.memo?.trim() || undefined };
  const whole = values.amount?.trim() ?? "";
  if (whole !== "") {
    const parsed = amountInput(whole, { currency: cur });
    if (parsed.ok) body.amount = parsed.value;
    else errors.amount = parsed.message;
  }
  const lines: NoteLine[] = [];
  const rows: number[] = [];
  l.groups.forEach((g: Group, i) => {
    const raw = values[lineField(i)]?.trim() ?? "";
    if (raw === "") return;
    const parsed = amountInput(raw, { currency: cur });
    if (!parsed.ok) return void (errors[lineField(i)] = parsed.message);
    lines.push({ price_id: g.priceId, amount: parsed.value });
    rows.push(i);
  });
  if (lines.length > 0) body.lines = lines;
  if (Object.keys(errors).length > 0) return { ok: false, errors, status: 400 };
  const checked = (() => {
    try {
      return { ok: true as const, body: parseWith(CreateCreditNoteBody, body) };
    } catch (err) {
      return { ok: false as const, error: err as ApiError };
    }
  })();
  if (!checked.ok) return { ok: false, errors: noteErrors(checked.error, l, rows), status: errorStatus(checked.error.status) };
  return { ok: true, body: checked.body, rows };
}

/** The API's errors next to the form's fields: `lines[k].x` beside the k-th line filled in, "give one or the other" on top. */
function noteErrors(err: ApiError, l: Loaded, rows: number[]): FieldErrors {
  const fields = ["amount", "reason", "refund_to", "memo", ...l.groups.map((_, i) => lineField(i))];
  const errors = fieldErrors(err, fields, (param) => {
    const line = /^lines\[(\d+)\]/.exec(param);
    if (line) return lineField(rows[Number(line[1])] ?? -1);
    return param === "lines" ? "_form" : param;
  });
  for (const [field, message] of Object.entries(errors)) {
    if (message.startsWith("Give amount (the whole credit) or lines (credit per invoice line), not both")) errors[field] = "Fill in the whole amount or the lines, not both.";
    else if (message.startsWith("Give amount (the whole credit) or lines")) errors[field] = "Fill in the whole amount or the lines to credit";
  }
  return errors;
}

/** The review shows the service's own reckoning of the note (previewCreditNote), not a second copy of its rules. */
const Effect: FC<{ l: Loaded; body: CreateCreditNoteInput; check: CreditNoteCheck }> = ({ l, body, check }) => {
  const { inv } = l;
  const cur = inv.currency;
  const { plan } = check;
  const post = parseDecimal(plan.postPayment);
  const byPrice = new Map(l.groups.map((g) => [g.priceId, g.name]));
  return (
    <dl class="props" data-testid="credit-note-summary">
      <dt>Credit</dt>
      <dd>
        <strong>{money(plan.amount, cur)}</strong>
        {plan.lines.length > 0 ? ` on ${plan.lines.map((x) => `${byPrice.get(x.price_id) ?? x.price_id} (${money(x.amount, cur)})`).join(", ")}` : " (whole amount)"}
      </dd>
      <dt>Reason</dt>
      <dd>
        {REASONS[body.reason]}
        {body.memo ? ` · “${body.memo}”` : ""}
      </dd>
      <dt>Amount due</dt>
      <dd data-testid="credit-note-amount-due">
        {inv.status === "paid"
          ? `${money(check.invoice.amount_due, cur)} → ${money(plan.amountDue, cur)} (the invoice is paid: nothing more is collected)`
          : `${money(check.invoice.amount_due, cur)} → ${money(plan.amountDue, cur)}${parseDecimal(plan.amountDue).isZero() ? ": the invoice is then paid, without a charge" : ""}`}
      </dd>
      <dt>Money back</dt>
      <dd data-testid="credit-note-refund">
        {post.isZero()
          ? "None: the note only lowers what is due"
          : plan.refundTo === "payment"
            ? `${money(plan.postPayment, cur)} refunded to the customer's card through Stripe`
            : plan.refundTo === "credit_grant"
              ? `A promotional credit grant of ${money(plan.postPayment, cur)} for the customer's next invoices`
              : `${money(plan.postPayment, cur)} recorded only: no money moves (refunded outside Meterline, say)`}
      </dd>
      <dt>Credited on the invoice</dt>
      <dd>
        {money(inv.amount_credited, cur)} → {money(plan.amountCredited, cur)} of {money(inv.total, cur)}
      </dd>
    </dl>
  );
};

function confirmPage(c: DashboardContext, l: Loaded, values: FormValues, body: CreateCreditNoteInput, check: CreditNoteCheck) {
  const hidden = Object.entries(values).filter(([name]) => name !== "_csrf" && name !== "_once" && name !== "edit");
  return render(
    c,
    "Issue credit note",
    <div class="card">
      <p class="muted">
        <a href="/dashboard/invoices">Invoices</a> / <a href={invoicePath(l.inv.id)}>{title(l.inv)}</a> /
      </p>
      <h1>Issue this credit note on {title(l.inv)}?</h1>
      <Effect l={l} body={body} check={check} />
      <form method="post" action={`${invoicePath(l.inv.id)}/credit_notes/confirm`}>
        <Csrf token={c.get("page").csrf} />
        {hidden.map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <div class="actions">
          <button type="submit" data-confirm="credit_note">
            Yes, issue the credit note
          </button>
          <button type="submit" name="edit" value="1" class="secondary">
            Edit
          </button>
          <a href={invoicePath(l.inv.id)}>Cancel</a>
        </div>
      </form>
    </div>,
  );
}

/** A service refusal back on the form next to the field it names (the invoice itself not found is the 404 page). */
function serviceErrorPage(c: DashboardContext, l: Loaded, values: FormValues, rows: number[], error: ApiError) {
  if (error.code === "invoice_not_found") throw error;
  return formPage(c, l, { values, errors: noteErrors(error, l, rows) }, errorStatus(error.status));
}

/** GET /:id/credit_notes/new, POST /:id/credit_notes (review) and /:id/credit_notes/confirm under /dashboard/invoices. */
export const creditNotePages = newPages();

creditNotePages.get("/:id/credit_notes/new", async (c) => {
  const l = await load(c);
  return formPage(c, l, emptyForm({ reason: "other" }), creditable(l.inv) ? 200 : 409);
});

creditNotePages.post("/:id/credit_notes", async (c) => {
  const values = await postedForm(c);
  const l = await load(c);
  const read = readNote(values, l);
  if (!read.ok) return formPage(c, l, { values, errors: read.errors }, read.status);
  // Everything the service would refuse (the cap, a line's limit, refund_to, a payment outside Stripe) shows here,
  // before the confirmation.
  const check = await attempt(() => previewCreditNote(serviceContext(c), l.inv.id, read.body));
  if (!check.ok) return serviceErrorPage(c, l, values, read.rows, check.error);
  return confirmPage(c, l, values, read.body, check.value);
});

creditNotePages.post("/:id/credit_notes/confirm", async (c) => {
  const values = await postedForm(c);
  const l = await load(c);
  if (values.edit) return formPage(c, l, { values, errors: {} });
  const read = readNote(values, l);
  if (!read.ok) return formPage(c, l, { values, errors: read.errors }, read.status);
  // NOTE: the confirmation's `_once` token names the note, so sending it again after a lost refund answer finds the
  // note and its refund instead of issuing another (a double click is answered once by formOnce already).
  const requestKey = values._once ? `dashboard:${values._once}` : undefined;
  const issued = await attempt(() => issueCreditNote(serviceContext(c), l.inv.id, read.body, requestKey));
  if (!issued.ok) return serviceErrorPage(c, l, values, read.rows, issued.error);
  return c.redirect(`${invoicePath(l.inv.id)}#credit-notes`, 303);
});

// ——— the invoice page's parts ———

/** The invoice page's button: on a finalized or paid invoice. */
export const CreditNoteButton: FC<{ inv: InvoiceView }> = ({ inv }) =>
  creditable(inv) ? (
    <a class="button secondary" href={`${invoicePath(inv.id)}/credit_notes/new`} data-action="credit_note">
      Issue credit note
    </a>
  ) : null;

/** Rows under the invoice's total: what credit notes took off it, and what is due after them (when no credit row says it). */
export const CreditedRows: FC<{ inv: InvoiceView }> = ({ inv }) =>
  parseDecimal(inv.amount_credited).isZero() ? null : (
    <>
      <tr data-testid="invoice-credited">
        <td colspan={3}>
          <a href="#credit-notes">Credit notes</a>
        </td>
        <td class="num">−{money(inv.amount_credited, inv.currency)}</td>
      </tr>
      {inv.credits_applied.length ? null : (
        <tr class="total">
          <td colspan={3}>Amount due</td>
          <td class="num" data-testid="invoice-amount-due">
            {money(inv.amount_due, inv.currency)}
          </td>
        </tr>
      )}
    </>
  );

/** The invoice's credit notes, oldest first (an async component: it reads them from D1's copy). */
export const CreditNotesSection: FC<{ c: DashboardContext; inv: InvoiceView }> = async ({ c, inv }) => {
  const notes = await notesOf(c, inv.id);
  if (notes.length === 0) return null;
  const names = new Map(inv.line_items.map((l) => [l.price_id, l.name]));
  return (
    <>
      <h2 id="credit-notes">Credit notes</h2>
      <table data-testid="credit-notes">
        <thead>
          <tr>
            <th>Number</th>
            <th>Issued</th>
            <th>Reason</th>
            <th>Money back</th>
            <th class="num">Amount</th>
          </tr>
        </thead>
        <tbody>
          {notes.map((n) => (
            <tr data-credit-note={n.id}>
              <td class="mono">
                {n.number}
                {n.lines.length > 0 ? <div class="explain">{n.lines.map((x) => `${names.get(x.price_id) ?? x.price_id}: ${money(x.amount, n.currency)}`).join(", ")}</div> : null}
              </td>
              <td>{dateTime(n.created_at)}</td>
              <td>
                {REASONS[n.reason]}
                {n.memo ? <div class="explain">{n.memo}</div> : null}
              </td>
              <td>
                {n.refund_to === "payment" ? (
                  <>
                    Refund <span class="mono">{n.refund_id}</span>
                  </>
                ) : n.refund_to === "credit_grant" && n.grant_id ? (
                  <a href={`/dashboard/customers/${n.customer_id}#credits`}>Credit grant</a>
                ) : (
                  "—"
                )}
              </td>
              <td class="num">{money(n.amount, n.currency)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
};
