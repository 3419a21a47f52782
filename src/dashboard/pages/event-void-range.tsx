// Voiding a customer's events in a time range (SPEC §18): a form (customer, UTC from/to, optional event name), a review
// page that counts the events it will void, then voidEvents (the service POST /v1/events/void calls), all or none.
import type { FC } from "hono/jsx";
import { formatTimestamp } from "../../domain/time";
import type { InvoiceView } from "../../ledger/types";
import { VoidEventsBody } from "../../schemas/events";
import { serviceContext } from "../../services/context";
import { getCustomer } from "../../services/customers";
import { listEvents } from "../../services/event-reads";
import { voidEvents } from "../../services/event-voids";
import { attempt, DATE_HINT, fieldErrors, parseWith, type FieldErrors, type FormValues } from "../forms";
import { Csrf, emptyForm, Field, FormError, type FormState } from "../layout";
import { customerChoices } from "../lookups";
import { callerIn, db, errorStatus, newPages, postedForm, queryOf, render, type DashboardContext } from "../page";
import { TIME_HINT, utcInput } from "./contract-parts";
import { ClosedPeriod, closedInvoices, refusedInvoice } from "./event-void";

type Status = 200 | 400 | 404 | 409 | 422;

const FIELDS = ["customer_id", "from", "to", "event_name"];
const BASE = "/dashboard/events/void";
/** Pages of 100 events read to count a range before confirming; a larger range is shown as "more than …". */
const COUNT_PAGES = 20;
const PAGE = 100;

/** "2026-06-10T00:00:00Z" → "2026-06-10T00:00", what a datetime-local field shows; anything else stays as typed. */
function localInput(raw: string | undefined): string {
  if (!raw) return "";
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2})(:\d{2})?(?:\.0+)?Z)?$/.exec(raw);
  if (!m) return raw;
  return `${m[1]}T${m[2] ?? "00:00"}${m[3] && m[3] !== ":00" ? m[3] : ""}`;
}

/** A stored instant for people, to the second: "2026-06-10 00:00:00 UTC". */
const utc = (ms: number) => `${formatTimestamp(ms).replace("T", " ").replace(/Z$/, "")} UTC`;

/** The schema's messages in the words of this form's fields. */
function plain(errors: FieldErrors): FieldErrors {
  const out: FieldErrors = {};
  for (const [field, message] of Object.entries(errors)) {
    if (message.startsWith(DATE_HINT)) out[field] = TIME_HINT;
    else if (field !== "_form" && / is required$/.test(message)) out[field] = field === "customer_id" ? "choose a customer" : "required";
    else out[field] = message;
  }
  return out;
}

interface Range {
  customer: { id: string; name: string };
  from: number;
  to: number;
  eventName: string | undefined;
}

/** The posted fields through the API's own schema and the customer lookup; errors by field, as the API would report them. */
async function readRange(c: DashboardContext, values: FormValues): Promise<{ ok: true; range: Range } | { ok: false; errors: FieldErrors; status: Status }> {
  const text = (name: string) => values[name]?.trim() || undefined;
  const body = { customer_id: text("customer_id"), from: text("from") && utcInput(text("from")!), to: text("to") && utcInput(text("to")!), event_name: text("event_name") };
  const parsed = await attempt(async () => parseWith(VoidEventsBody, body));
  if (!parsed.ok) return { ok: false, errors: plain(fieldErrors(parsed.error, FIELDS)), status: errorStatus(parsed.error.status) };
  const { customer_id, from, to, event_name } = parsed.value;
  // The service refuses an empty range too; checked here so the review never counts one.
  if (to <= from) return { ok: false, errors: { to: "must be after From" }, status: 400 };
  const customer = await attempt(() => getCustomer(db(c), callerIn(c), customer_id, "customer_id"));
  if (!customer.ok) return { ok: false, errors: { customer_id: `${customer.error.message} in ${callerIn(c).mode} mode` }, status: errorStatus(customer.error.status) };
  return { ok: true, range: { customer: customer.value, from, to, eventName: event_name } };
}

/** The events list filtered to the range (for "see them" links and the redirect after voiding). */
function listLink(range: Range, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams({ customer_id: range.customer.id, from: formatTimestamp(range.from), to: formatTimestamp(range.to) });
  if (range.eventName) q.set("event_name", range.eventName);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return `/dashboard/events?${q.toString()}`;
}

/** How many events of the range a void would take out now (already voided ones are left as they are), and their invoices. */
async function countRange(c: DashboardContext, range: Range) {
  let live = 0;
  let voided = 0;
  let cursor: string | undefined;
  let capped = false;
  const invoices = new Set<string>();
  for (let i = 0; ; i++) {
    if (i === COUNT_PAGES) {
      capped = true;
      break;
    }
    const page = await listEvents(c.env, callerIn(c), { customer_id: range.customer.id, from: range.from, to: range.to, event_name: range.eventName, limit: PAGE, cursor });
    for (const e of page.data) {
      if (e.voided_at) voided++;
      else {
        live++;
        if (e.billing.invoice_id) invoices.add(e.billing.invoice_id);
      }
    }
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return { live, voided, capped, closed: await closedInvoices(c, invoices) };
}

async function formPage(c: DashboardContext, form: FormState, status: Status = 200, refusal: { message: string; invoices: InvoiceView[] } | null = null) {
  const customers = await customerChoices(db(c), callerIn(c));
  const chosen = form.values.customer_id ?? "";
  const error = form.errors.customer_id;
  return render(
    c,
    "Void events",
    <div class="card">
      <p class="muted">
        <a href="/dashboard/events">Events</a> /
      </p>
      <h1>Void a customer's events</h1>
      <p class="sub">
        Every event of the customer with a timestamp in the range stops counting on its draft invoice and stays listed, marked voided. The next
        page shows how many that is before anything changes.
      </p>
      {refusal ? <ClosedPeriod message={refusal.message} invoices={refusal.invoices} /> : null}
      <form method="post" action={BASE}>
        <Csrf token={c.get("page").csrf} />
        <FormError state={form} />
        <div class="grid">
          <div class={`field${error ? " has-error" : ""}`}>
            <label for="f-customer_id">Customer</label>
            <select id="f-customer_id" name="customer_id">
              <option value="">Choose a customer</option>
              {customers.map((cu) => (
                <option value={cu.id} selected={chosen === cu.id || (chosen !== "" && chosen === cu.externalId)}>
                  {cu.label}
                </option>
              ))}
            </select>
            {error ? <span class="error" data-error-for="customer_id">{error}</span> : null}
          </div>
          <Field state={form} name="from" label="From (UTC, inclusive)" type="datetime-local" hint="Read as UTC, not your local time" />
          <Field state={form} name="to" label="To (UTC, exclusive)" type="datetime-local" hint="Read as UTC, not your local time" />
          <Field state={form} name="event_name" label="Event name (optional)" placeholder="api_call" hint="Empty = events of every name" />
        </div>
        <div class="actions">
          <button type="submit">Review</button>
          <a href="/dashboard/events">Cancel</a>
        </div>
      </form>
    </div>,
    status,
  );
}

/** The form's values for a range already read (the review's "change" link and a refusal on confirming). */
const rangeValues = (values: FormValues): FormValues => ({
  customer_id: values.customer_id ?? "",
  from: localInput(values.from),
  to: localInput(values.to),
  event_name: values.event_name ?? "",
});

const Summary: FC<{ range: Range }> = ({ range }) => (
  <dl class="props">
    <dt>Customer</dt>
    <dd>
      <a href={`/dashboard/customers/${range.customer.id}`}>{range.customer.name}</a>
    </dd>
    <dt>From (inclusive)</dt>
    <dd>{utc(range.from)}</dd>
    <dt>To (exclusive)</dt>
    <dd>{utc(range.to)}</dd>
    <dt>Event name</dt>
    <dd class="mono">{range.eventName ?? "any"}</dd>
  </dl>
);

async function reviewPage(c: DashboardContext, range: Range) {
  const count = await countRange(c, range);
  const n = `${count.capped ? "more than " : ""}${count.live.toLocaleString("en-US")} event${count.live === 1 && !count.capped ? "" : "s"}`;
  const hidden: FormValues = { customer_id: range.customer.id, from: formatTimestamp(range.from), to: formatTimestamp(range.to), event_name: range.eventName ?? "" };
  const change = `${BASE}?${new URLSearchParams(Object.entries(hidden).filter(([, v]) => v !== "")).toString()}`;
  return render(
    c,
    "Void events",
    <div class="card">
      <p class="muted">
        <a href="/dashboard/events">Events</a> / <a href={change}>Void events</a> /
      </p>
      <h1 data-testid="void-count" data-count={count.capped ? "" : String(count.live)}>
        {count.live === 0 ? "No events to void" : `Void ${n}?`}
      </h1>
      <Summary range={range} />
      <p>
        <a href={listLink(range)}>See these events</a>
        {count.voided ? ` · ${count.voided.toLocaleString("en-US")} already voided in the range are left as they are.` : ""}
      </p>
      {count.closed.length ? (
        <ClosedPeriod message="Some of these events are on invoices that are no longer drafts, so the void would be refused: it voids all or none." invoices={count.closed} />
      ) : null}
      {count.live > 0 ? (
        <ul data-testid="void-effect">
          <li>They stop counting on their draft invoices, which are repriced at once.</li>
          <li>They stay in the events list and in their history, marked voided, for the record.</li>
          <li>Sending one's idempotency key again with the same payload keeps it voided; with a corrected payload it counts again.</li>
          <li>Events of the range that arrive before you confirm are voided too; the count above is as of now.</li>
        </ul>
      ) : null}
      {count.live > 0 && count.closed.length === 0 ? (
        <form method="post" action={`${BASE}/confirm`}>
          <Csrf token={c.get("page").csrf} />
          {Object.entries(hidden).map(([name, value]) => (
            <input type="hidden" name={name} value={value} />
          ))}
          <div class="actions">
            <button type="submit" class="danger" data-confirm="void-events">
              Yes, void {n}
            </button>
            <a href={change}>Change the range</a>
          </div>
        </form>
      ) : (
        <p>
          <a href={change}>Change the range</a>
        </p>
      )}
    </div>,
  );
}

/** /dashboard/events/void and its review and confirm steps (mounted by events.tsx before the event page's /:id). */
export const eventVoidRangePages = newPages();

eventVoidRangePages.get("/void", (c) => formPage(c, emptyForm(rangeValues(queryOf(c, FIELDS) as FormValues))));

eventVoidRangePages.post("/void", async (c) => {
  const values = await postedForm(c);
  const read = await readRange(c, values);
  if (!read.ok) return formPage(c, { values, errors: read.errors }, read.status);
  return reviewPage(c, read.range);
});

eventVoidRangePages.post("/void/confirm", async (c) => {
  const values = await postedForm(c);
  const read = await readRange(c, values);
  if (!read.ok) return formPage(c, { values: rangeValues(values), errors: read.errors }, read.status);
  const { range } = read;
  const result = await attempt(() => voidEvents(serviceContext(c), { customer_id: range.customer.id, from: range.from, to: range.to, event_name: range.eventName }));
  if (!result.ok) {
    const err = result.error;
    const form = emptyForm(rangeValues(values));
    if (err.code !== "invoice_finalized") return formPage(c, { ...form, errors: plain(fieldErrors(err, FIELDS)) }, errorStatus(err.status));
    const invoice = await refusedInvoice(c, err);
    return formPage(c, form, 409, { message: err.message, invoices: invoice ? [invoice] : [] });
  }
  return c.redirect(listLink(range, { voided: String(result.value.voided) }), 303);
});
