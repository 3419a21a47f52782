// Regenerating a void period invoice (SPEC §18) behind a page that explains what the new draft bills, through
// regenerateInvoice (the service POST /v1/invoices/:id/regenerate calls); and the invoice page's correction links.
import type { FC } from "hono/jsx";
import type { InvoiceView } from "../../ledger/types";
import { serviceContext } from "../../services/context";
import { requireContract } from "../../services/contracts/views";
import { getInvoice, regenerateInvoice } from "../../services/invoices";
import { getPlan } from "../../services/plans";
import { date, dateTime, money } from "../format";
import { attempt } from "../forms";
import { Csrf } from "../layout";
import { callerIn, db, errorStatus, newPages, render, type DashboardContext } from "../page";

type Status = 200 | 400 | 404 | 409 | 422;

const invoicePath = (id: string) => `/dashboard/invoices/${id}`;
const title = (inv: InvoiceView) => (inv.number !== null ? `invoice #${inv.number}` : "this invoice");

/** Why the service would refuse to regenerate this invoice now, or null when it would accept. */
function refusal(inv: InvoiceView): string | null {
  if (inv.status !== "void") return `Only a void invoice can be regenerated; this one is ${inv.status}. Void it first.`;
  if (inv.kind !== "period") return `A ${inv.kind.replace("_", " ")} invoice has no period to bill again.`;
  if (inv.regenerated_by) return "This invoice was already regenerated:";
  return null;
}

/** The invoice page's button: on a void period invoice not yet regenerated. */
export const RegenerateButton: FC<{ inv: InvoiceView }> = ({ inv }) =>
  refusal(inv) === null ? (
    <a class="button secondary" href={`${invoicePath(inv.id)}/regenerate`} data-action="regenerate">
      Regenerate
    </a>
  ) : null;

/** Rows of the invoice page's details: when it was voided, and the regenerated invoice it links to either way. */
export const CorrectionLinks: FC<{ inv: InvoiceView }> = ({ inv }) => (
  <>
    {inv.voided_at ? (
      <>
        <dt>Voided at</dt>
        <dd data-testid="invoice-voided-at">{dateTime(inv.voided_at)}</dd>
      </>
    ) : null}
    {inv.regenerated_from ? (
      <>
        <dt>Regenerated from</dt>
        <dd data-testid="regenerated-from">
          <a href={invoicePath(inv.regenerated_from)} class="mono">
            {inv.regenerated_from}
          </a>{" "}
          (void)
        </dd>
      </>
    ) : null}
    {inv.regenerated_by ? (
      <>
        <dt>Regenerated as</dt>
        <dd data-testid="regenerated-as">
          <a href={invoicePath(inv.regenerated_by)} class="mono">
            {inv.regenerated_by}
          </a>
        </dd>
      </>
    ) : null}
  </>
);

/** The plan's grace period of the invoice's contract, for the explanation; null when it cannot be read. */
async function graceHours(c: DashboardContext, inv: InvoiceView): Promise<number | null> {
  if (!inv.contract_id) return null;
  const found = await attempt(async () => (await getPlan(db(c), callerIn(c), (await requireContract(db(c), callerIn(c), inv.contract_id!)).planId)).plan);
  return found.ok ? found.value.gracePeriodHours : null;
}

async function confirmPage(c: DashboardContext, error: string | null = null, status: Status = 200) {
  const inv = await getInvoice(c.env, callerIn(c), c.req.param("id")!);
  const grace = await graceHours(c, inv);
  const refused = refusal(inv);
  const period = `${dateTime(inv.period_start)} → ${dateTime(inv.period_end)}`;
  return render(
    c,
    "Regenerate invoice",
    <div class="card">
      <p class="muted">
        <a href="/dashboard/invoices">Invoices</a> / <a href={invoicePath(inv.id)}>{title(inv)}</a> /
      </p>
      <h1>Regenerate {title(inv)}?</h1>
      <p class="sub">
        {date(inv.period_start)} → {date(inv.period_end)} · was {money(inv.total, inv.currency)} · void
      </p>
      {error ? (
        <div class="form-error" role="alert">
          {error}
        </div>
      ) : null}
      <ul data-testid="regenerate-effect">
        <li>
          A new draft invoice opens for the same contract and period ({period}), priced from the period's events as they are now: amended
          events at their latest version, voided events left out, and events that arrived late, after the period closed, counted.
        </li>
        <li>
          Until the new draft is finalized the period is open again: more late events of the period bill into it, and its events can be
          voided.
        </li>
        <li>
          The billing run finalizes it, with a new invoice number, once the plan's grace period
          {grace === null ? "" : ` (${grace} hour${grace === 1 ? "" : "s"})`} has passed from now; you can also finalize it by hand.
        </li>
        <li>This invoice stays void, with its number, and links to the new draft.</li>
      </ul>
      {refused ? (
        <div class="notice">
          {refused}{" "}
          {inv.regenerated_by ? <a href={invoicePath(inv.regenerated_by)}>the new draft</a> : <a href={invoicePath(inv.id)}>Back to the invoice</a>}
        </div>
      ) : (
        <form method="post" action={`${invoicePath(inv.id)}/regenerate`}>
          <Csrf token={c.get("page").csrf} />
          <div class="actions">
            <button type="submit" data-confirm="regenerate">
              Yes, regenerate
            </button>
            <a href={invoicePath(inv.id)}>Go back</a>
          </div>
        </form>
      )}
    </div>,
    status,
  );
}

/** /dashboard/invoices/:id/regenerate (mounted by invoices.tsx). */
export const invoiceRegeneratePages = newPages();

invoiceRegeneratePages.get("/:id/regenerate", (c) => confirmPage(c));

invoiceRegeneratePages.post("/:id/regenerate", async (c) => {
  const result = await attempt(() => regenerateInvoice(serviceContext(c), c.req.param("id")));
  if (!result.ok) {
    // Another account's or mode's invoice is not found: the same 404 page as opening it.
    if (result.error.status === 404) throw result.error;
    return confirmPage(c, result.error.message, errorStatus(result.error.status));
  }
  return c.redirect(invoicePath(result.value.id), 303);
});
