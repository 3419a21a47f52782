// Usage-based → Events: newest first, filtered by customer and event name, each with why it is (not) billed — the seeds'
// "event not appearing on invoice" checklist answered on screen — an event's earlier versions, and its void (SPEC §18).
import type { FC } from "hono/jsx";
import type { EventView } from "../../ledger/types";
import { ListEventsQuery } from "../../schemas/events";
import { getEvent, listEvents } from "../../services/event-reads";
import { dateTime, preciseTime } from "../format";
import { attempt, fieldErrors, parseWith } from "../forms";
import { Badge, Field, Pager, TitleBar } from "../layout";
import { customerChoices, customerNames } from "../lookups";
import { callerIn, db, newPages, queryOf, render } from "../page";
import { CustomerStatusFilters } from "../filters";
import { eventVoidPages } from "./event-void";
import { eventVoidRangePages } from "./event-void-range";

/** What to check or do for each reason an event is not billed. */
const REASONS: Record<NonNullable<EventView["billing"]["reason"]>, (e: EventView) => string> = {
  no_active_contract: () =>
    "The customer had no active contract at the event's time. Create a contract (Contracts → Create contract) that covers it.",
  no_matching_meter: (e) =>
    `No meter priced by the customer's plan listens to the event name "${e.event_name}" with filters this event matches. Check the meter's event name (exact, case-sensitive), its filters, and that the plan has a price on it.`,
  contract_paused: () =>
    "The customer's contract was paused at the event's time: events of a paused contract are kept but not billed. Resume the contract (Contracts → the contract → Resume), with a time before the event to bill it.",
  outside_open_period: () =>
    "The billing period the event's timestamp falls in is not open: it was already finalized (after its grace period), or the timestamp lies outside the contract.",
  property_missing: (e) =>
    `The event lacks a usable value for the property that ${e.billing.meters.join(", ") || "the meter"} aggregates (a number or numeric string, below 10^15 in absolute value, with at most 20 decimal places).`,
};

export function explain(e: EventView): string {
  if (e.billing.status === "voided")
    return `Voided at ${dateTime(e.voided_at)}: it no longer counts on its invoice. Resending the same payload keeps it voided; a corrected payload counts again.`;
  if (e.billing.status === "billed") return `Billed: counted by ${e.billing.meters.join(", ")} on the invoice of its period.`;
  return e.billing.reason ? REASONS[e.billing.reason](e) : "Not billed.";
}

/** The billing badge. NOTE: a voided event borrows the void invoice's red (`badge void`): the layout has no `voided` colour. */
const BillingBadge: FC<{ e: EventView; label?: string }> = ({ e, label }) =>
  e.billing.status === "voided" ? (
    <Badge status="void" label={label ?? "voided"} />
  ) : (
    <Badge status={e.billing.status} label={label} />
  );

const Billing: FC<{ e: EventView }> = ({ e }) => (
  <>
    <BillingBadge
      e={e}
      label={e.billing.status === "billed" ? "Billed" : e.billing.status === "voided" ? "Voided" : `Not billed: ${e.billing.reason?.replace(/_/g, " ")}`}
    />
    {e.billing.invoice_id ? (
      <>
        {" "}
        <a href={`/dashboard/invoices/${e.billing.invoice_id}`}>invoice</a>
      </>
    ) : null}
    <div class="explain">{explain(e)}</div>
  </>
);

/** The range void's form, started from the list's filters. */
function voidRangeLink(q: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const name of ["customer_id", "from", "to", "event_name"]) if (q[name]) params.set(name, q[name]!);
  const query = params.toString();
  return `/dashboard/events/void${query ? `?${query}` : ""}`;
}

/** The earlier versions of an event (GET /v1/events/:id's history), oldest first: what was sent, when, and whether voided. */
const History: FC<{ e: EventView }> = ({ e }) =>
  e.history && e.history.length ? (
    <table data-testid="event-history">
      <thead>
        <tr>
          <th>Version</th>
          <th>Received</th>
          <th>Replaced</th>
          <th>Event name</th>
          <th>Timestamp</th>
          <th>Properties</th>
          <th>Voided</th>
        </tr>
      </thead>
      <tbody>
        {e.history.map((v) => (
          <tr data-version={v.version}>
            <td>{v.version}</td>
            <td>{dateTime(v.received_at)}</td>
            <td>{dateTime(v.replaced_at)}</td>
            <td class="mono">{v.event_name}</td>
            <td>{dateTime(v.timestamp)}</td>
            <td class="mono">{JSON.stringify(v.properties)}</td>
            <td data-voided={v.voided_at ? "yes" : "no"}>{v.voided_at ? `Voided ${dateTime(v.voided_at)}` : "No"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  ) : (
    <p class="muted" data-testid="event-history-empty">
      No earlier versions: this is the payload as first sent.
    </p>
  );

export const eventPages = newPages();

// NOTE: mounted before "/:id" so that /dashboard/events/void is the range form, not an event named "void".
eventPages.route("/", eventVoidRangePages);
eventPages.route("/", eventVoidPages);

eventPages.get("/", async (c) => {
  const caller = callerIn(c);
  const q = queryOf(c, ["customer_id", "event_name", "from", "to", "cursor"]);
  // A mistyped date is shown next to its filter instead of failing the page.
  const parsed = await attempt(async () => parseWith(ListEventsQuery, q));
  const filterErrors = parsed.ok ? {} : fieldErrors(parsed.error, ["from", "to"]);
  const [page, customers] = await Promise.all([
    parsed.ok ? listEvents(c.env, caller, parsed.value) : { data: [] as EventView[], has_more: false, next_cursor: null },
    customerChoices(db(c), caller),
  ]);
  const names = await customerNames(db(c), caller, page.data.map((e) => e.customer_id));
  // Set by the range void's redirect (event-void-range.tsx) to say what it did.
  const voided = /^\d+$/.test(c.req.query("voided") ?? "") ? Number(c.req.query("voided")) : null;
  return render(
    c,
    "Events",
    <>
      <TitleBar title="Events" action={{ label: "Void events…", href: voidRangeLink(q) }} />
      <p class="sub">Usage events, newest first. Each says whether it is billed and, if not, what to fix.</p>
      {voided !== null ? (
        <div class="notice" role="status" data-testid="voided-notice">
          Voided {voided} event{voided === 1 ? "" : "s"}.
        </div>
      ) : null}
      <CustomerStatusFilters customers={customers} customerId={q.customer_id}>
        <div class="field">
          <label for="q-event_name">Event name</label>
          <input id="q-event_name" name="event_name" value={q.event_name ?? ""} placeholder="call_count" />
        </div>
        <Field state={{ values: { from: q.from ?? "", to: q.to ?? "" }, errors: filterErrors }} name="from" label="From (UTC, inclusive)" placeholder="2026-03-01" />
        <Field state={{ values: { from: q.from ?? "", to: q.to ?? "" }, errors: filterErrors }} name="to" label="To (exclusive)" placeholder="2026-04-01" />
      </CustomerStatusFilters>
      {page.data.length === 0 ? (
        <p class="muted">No events match. Send some with POST /v1/events.</p>
      ) : (
        <table data-testid="events-table">
          <thead>
            <tr>
              <th>Time</th>
              <th>Event name</th>
              <th>Customer</th>
              <th>Idempotency key</th>
              <th>Properties</th>
              <th>Billing</th>
            </tr>
          </thead>
          <tbody>
            {page.data.map((e) => (
              <tr data-billing={e.billing.status}>
                <td>
                  <a href={`/dashboard/events/${e.id}`}>{preciseTime(e.timestamp)}</a>
                </td>
                <td class="mono">{e.event_name}</td>
                <td>
                  <a href={`/dashboard/customers/${e.customer_id}`}>{names.get(e.customer_id) ?? e.customer_id.slice(0, 8)}</a>
                </td>
                <td class="mono" data-testid="idempotency-key">{e.idempotency_key}</td>
                <td class="mono">{Object.keys(e.properties).length ? JSON.stringify(e.properties) : "—"}</td>
                <td>
                  <Billing e={e} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {filterErrors._form ? <div class="form-error">{filterErrors._form}</div> : null}
      <Pager next={page.next_cursor} base="/dashboard/events" params={{ customer_id: q.customer_id, event_name: q.event_name, from: q.from, to: q.to }} />
    </>,
  );
});

eventPages.get("/:id", async (c) => {
  const caller = callerIn(c);
  const e = await getEvent(c.env, caller, c.req.param("id"));
  const names = await customerNames(db(c), caller, [e.customer_id]);
  // The ledger decides in this order and stops at the first failing step (see CustomerLedger's billing decision).
  const steps: [NonNullable<EventView["billing"]["reason"]>, string][] = [
    ["no_active_contract", "The customer has an active contract at the event's time"],
    ["no_matching_meter", "A meter of that contract's plan listens to this event name, and its filters match"],
    ["contract_paused", "The contract was not paused at the event's time"],
    ["outside_open_period", "The billing period of the event's timestamp is still open"],
    ["property_missing", "The event has a usable value for the property the meters aggregate"],
  ];
  const failed = steps.findIndex(([reason]) => reason === e.billing.reason);
  const mark = (i: number) => (failed === -1 || i < failed ? "✓" : i === failed ? "✗" : "·");
  return render(
    c,
    "Event",
    <>
      <p class="muted">
        <a href="/dashboard/events">Events</a> /
      </p>
      <h1>
        <span class="mono">{e.event_name}</span> <BillingBadge e={e} />
      </h1>
      <div class="card">
        <dl class="props">
          <dt>ID</dt>
          <dd class="mono">{e.id}</dd>
          <dt>Customer</dt>
          <dd>
            <a href={`/dashboard/customers/${e.customer_id}`}>{names.get(e.customer_id)}</a>
          </dd>
          <dt>Timestamp</dt>
          <dd>{preciseTime(e.timestamp)}</dd>
          <dt>Received</dt>
          <dd>{dateTime(e.received_at)}</dd>
          <dt>Idempotency key</dt>
          <dd class="mono">{e.idempotency_key}</dd>
          <dt>Version</dt>
          <dd>{e.version === 1 ? "1 (original)" : `${e.version} (replaced ${e.version - 1} time${e.version > 2 ? "s" : ""}; the latest wins)`}</dd>
          <dt>Properties</dt>
          <dd class="mono">{JSON.stringify(e.properties)}</dd>
          {e.voided_at ? (
            <>
              <dt>Status</dt>
              <dd data-testid="event-voided">Voided at {dateTime(e.voided_at)}</dd>
            </>
          ) : null}
        </dl>
        {e.voided_at ? null : (
          <div class="actions">
            <a class="button danger" href={`/dashboard/events/${e.id}/void`} data-action="void-event">
              Void this event
            </a>
          </div>
        )}
      </div>
      <h2>Why is this event {e.billing.status === "billed" ? "" : "not "}billed?</h2>
      <div class="card">
        <Billing e={e} />
        {e.billing.status === "unbilled" ? (
          <ul>
            {steps.map(([, label], i) => (
              <li class={failed !== -1 && i > failed ? "muted" : ""}>
                {mark(i)} {label}
                {failed !== -1 && i > failed ? " (not checked)" : ""}
              </li>
            ))}
          </ul>
        ) : null}
      </div>
      <h2>Earlier versions</h2>
      <p class="sub">Sending the event's idempotency key again with a different payload replaces it; the latest version is the one above.</p>
      <History e={e} />
    </>,
  );
});
