// Voiding one event (SPEC §18) behind a confirmation page that says which invoice it stops counting on, through voidEvent
// (the service POST /v1/events/:id/void calls); a refusal in a closed period links its invoice and says how to correct it.
import type { FC } from "hono/jsx";
import type { ApiError } from "../../errors";
import type { EventView, InvoiceView } from "../../ledger/types";
import { serviceContext } from "../../services/context";
import { getEvent } from "../../services/event-reads";
import { voidEvent } from "../../services/event-voids";
import { getInvoice } from "../../services/invoices";
import { date, dateTime } from "../format";
import { attempt } from "../forms";
import { Csrf } from "../layout";
import { callerIn, errorStatus, newPages, render, type DashboardContext } from "../page";

type Status = 200 | 400 | 404 | 409 | 422;

export const invoicePath = (id: string) => `/dashboard/invoices/${id}`;
export const eventPath = (id: string) => `/dashboard/events/${id}`;

/** "invoice #7", or "the draft invoice for 2026-06-01 → 2026-07-01" before it has a number. */
export const invoiceName = (inv: InvoiceView) =>
  inv.number !== null ? `invoice #${inv.number}` : `the ${inv.status} invoice for ${date(inv.period_start)} → ${date(inv.period_end)}`;

/** The invoices among `ids` (one per period, so few) that are no longer drafts: a void of their events is refused. */
export async function closedInvoices(c: DashboardContext, ids: Iterable<string>): Promise<InvoiceView[]> {
  const found = await Promise.all([...new Set(ids)].map((id) => attempt(() => getInvoice(c.env, callerIn(c), id))));
  // NOTE: the same rule as the ledger's (corrections.ts closedAmong): any status but draft closes the period.
  return found.flatMap((r) => (r.ok && r.value.status !== "draft" ? [r.value] : []));
}

/**
 * The invoice a 409 invoice_finalized names. NOTE: the refusal carries the invoice only in its message ("… is on
 * invoice <id>, which …"), so the id is read from there; an unreadable one still shows the message, without the link.
 */
export async function refusedInvoice(c: DashboardContext, err: ApiError): Promise<InvoiceView | null> {
  if (err.code !== "invoice_finalized") return null;
  const id = /invoice ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i.exec(err.message)?.[1];
  if (!id) return null;
  const found = await attempt(() => getInvoice(c.env, callerIn(c), id));
  return found.ok ? found.value : null;
}

/** What to do about events of a closed period, by the state of the invoice that holds them. */
export function correctionHint(inv: InvoiceView): string {
  const name = invoiceName(inv);
  if (inv.status === "void" && inv.regenerated_by) return `${name} is void and was regenerated: void again now that the regenerated draft holds the events.`;
  if (inv.status === "void") return `${name} is void: regenerate it (the invoice's Regenerate button), then void again while its new draft is open.`;
  if (inv.status === "paid")
    return `${name} is paid, so it cannot be voided: a finalized invoice never changes. Correct the amount with a credit note instead.`;
  return `A finalized invoice never changes. To correct its period: void ${name}, then regenerate it — the new draft bills the period from its events as they are now and accepts voids until the billing run finalizes it — then void again.`;
}

/** A refusal (or its preview) for events of closed periods: the message, a link to each invoice, and how to correct them. */
export const ClosedPeriod: FC<{ message?: string | null; invoices: InvoiceView[] }> = ({ message, invoices }) => (
  <div class="form-error" role="alert" data-testid="closed-period">
    {message ? <div>{message}</div> : null}
    {invoices.map((inv) => (
      <div data-invoice={inv.id}>
        <a href={invoicePath(inv.id)}>{invoiceName(inv)[0]!.toUpperCase() + invoiceName(inv).slice(1)}</a> ({inv.status}): {correctionHint(inv)}
      </div>
    ))}
  </div>
);

/** What voiding does to this event: where it stops counting, and how resending its key behaves afterwards. */
const Effect: FC<{ e: EventView; invoice: InvoiceView | null }> = ({ e, invoice }) => (
  <ul data-testid="void-effect">
    {invoice ? (
      <li>
        It stops counting on <a href={invoicePath(invoice.id)}>{invoiceName(invoice)}</a> ({invoice.status}), which is repriced at once.
      </li>
    ) : (
      <li>It is not counted on any invoice now ({e.billing.reason?.replace(/_/g, " ") ?? "not billed"}); once voided it stays out of billing.</li>
    )}
    <li>It stays in the events list and in its history, marked voided, for the record.</li>
    <li>
      Sending its idempotency key (<span class="mono">{e.idempotency_key}</span>) again with the same payload, as a retry would, keeps it
      voided.
    </li>
    <li>Sending that key with a corrected payload makes a new version of the event that counts again. There is no other undo.</li>
  </ul>
);

async function confirmPage(c: DashboardContext, error: ApiError | null = null, status: Status = 200) {
  const e = await getEvent(c.env, callerIn(c), c.req.param("id")!);
  const invoice = e.billing.invoice_id ? await attempt(() => getInvoice(c.env, callerIn(c), e.billing.invoice_id!)) : null;
  const held = invoice && invoice.ok ? invoice.value : null;
  const refused = error ? await refusedInvoice(c, error) : null;
  // The preview of a refusal: the same rule the ledger applies, so the button is not offered when it cannot work.
  const closed = !error && held && held.status !== "draft" && !e.voided_at ? [held] : [];
  return render(
    c,
    "Void event",
    <div class="card">
      <p class="muted">
        <a href="/dashboard/events">Events</a> / <a href={eventPath(e.id)} class="mono">{e.event_name}</a> /
      </p>
      <h1>Void this event?</h1>
      <p class="sub">
        <span class="mono">{e.event_name}</span> at {dateTime(e.timestamp)} · <span class="mono">{JSON.stringify(e.properties)}</span>
      </p>
      {error ? (
        error.code === "invoice_finalized" ? (
          <ClosedPeriod message={error.message} invoices={refused ? [refused] : []} />
        ) : (
          <div class="form-error" role="alert">
            {error.message}
          </div>
        )
      ) : null}
      {closed.length ? <ClosedPeriod message={`This event is on ${invoiceName(closed[0]!)}, which is ${closed[0]!.status}: its void would be refused.`} invoices={closed} /> : null}
      {e.voided_at ? (
        <div class="notice">
          This event was voided at {dateTime(e.voided_at)}. <a href={eventPath(e.id)}>Back to the event</a>
        </div>
      ) : (
        <>
          {/* What voiding would do is beside the point while it is refused: the fix above is. */}
          {closed.length || refused ? null : <Effect e={e} invoice={held} />}
          {closed.length || refused ? (
            <p>
              <a href={eventPath(e.id)}>Back to the event</a>
            </p>
          ) : (
            <form method="post" action={`${eventPath(e.id)}/void`}>
              <Csrf token={c.get("page").csrf} />
              <div class="actions">
                <button type="submit" class="danger" data-confirm="void-event">
                  Yes, void this event
                </button>
                <a href={eventPath(e.id)}>Back to the event</a>
              </div>
            </form>
          )}
        </>
      )}
    </div>,
    status,
  );
}

/** /dashboard/events/:id/void (mounted by events.tsx). */
export const eventVoidPages = newPages();

eventVoidPages.get("/:id/void", (c) => confirmPage(c));

eventVoidPages.post("/:id/void", async (c) => {
  const result = await attempt(() => voidEvent(serviceContext(c), c.req.param("id")));
  if (!result.ok) {
    // Another account's or mode's event is not found: the same 404 page as opening it.
    if (result.error.status === 404) throw result.error;
    return confirmPage(c, result.error, errorStatus(result.error.status));
  }
  return c.redirect(eventPath(result.value.id), 303);
});
