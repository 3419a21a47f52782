// A credit grant's actions (SPEC §15): Void behind a confirmation page, and Adjust (a signed amount and a reason), through
// the services the /v1/credit_grants/:id/void and /adjust routes call.
import type { FC } from "hono/jsx";
import { notFound } from "../../errors";
import { AdjustCreditGrantBody, type CreditGrantView } from "../../schemas/credits";
import { serviceContext } from "../../services/context";
import { adjustCreditGrant, getCreditGrant, voidCreditGrant } from "../../services/credits";
import { getCustomer } from "../../services/customers";
import { money } from "../format";
import { attempt, fieldErrors, parseWith, type FieldErrors } from "../forms";
import { Csrf, emptyForm, Field, FormError, type FormState } from "../layout";
import { callerIn, db, errorStatus, newPages, postedForm, render, type DashboardContext } from "../page";
import { GrantStatus, grantIsOpen } from "../tables";
import { creditsPath, CustomerCrumbs, grantPath, plainWords, readAmounts } from "./credit-parts";

type Status = 200 | 400 | 404 | 409 | 422;

const ADJUST_FIELDS = ["amount", "reason"];

/** A grant of the customer named in the URL; a grant of another customer, mode or account is not found. */
async function grantOf(c: DashboardContext) {
  const customer = await getCustomer(db(c), callerIn(c), c.req.param("id")!);
  const grant = await getCreditGrant(serviceContext(c), c.req.param("grant")!);
  if (grant.customer_id !== customer.id) throw notFound("credit_grant", "id");
  return { customer, grant };
}

const GrantSummary: FC<{ grant: CreditGrantView }> = ({ grant }) => (
  <dl class="props">
    <dt>Grant</dt>
    <dd>
      {grant.name} <GrantStatus status={grant.status} />
    </dd>
    <dt>Amount</dt>
    <dd>{money(grant.amount, grant.currency)}</dd>
    <dt>Balance</dt>
    <dd>{money(grant.balance, grant.currency)}</dd>
    <dt>Available</dt>
    <dd>{money(grant.available, grant.currency)}</dd>
  </dl>
);

/** Void and Adjust under /dashboard/customers/:id/credit_grants/:grant (mounted by credits.tsx). */
export const grantActionPages = newPages();

// ——— Void ———

async function voidPage(c: DashboardContext, error: string | null = null, status: Status = 200) {
  const { customer, grant } = await grantOf(c);
  return render(
    c,
    "Void credit grant",
    <div class="card">
      <h1>Void the grant {grant.name}?</h1>
      {error ? <div class="form-error">{error}</div> : null}
      <GrantSummary grant={grant} />
      <p>
        The rest of its balance ({money(grant.balance, grant.currency)}) is removed for good, and {customer.name}'s open draft invoices are
        repriced at once without it. What finalized invoices already took stays taken.
      </p>
      {grantIsOpen(grant) ? (
        <form method="post" action={`${grantPath(grant)}/void`}>
          <Csrf token={c.get("page").csrf} />
          <div class="actions">
            <button type="submit" class="danger">
              Yes, void the grant
            </button>
            <a href={creditsPath(customer.id)}>Keep it</a>
          </div>
        </form>
      ) : (
        <p>
          <a href={creditsPath(customer.id)}>Back to {customer.name}</a>
        </p>
      )}
    </div>,
    status,
  );
}

grantActionPages.get("/:id/credit_grants/:grant/void", (c) => voidPage(c));

grantActionPages.post("/:id/credit_grants/:grant/void", async (c) => {
  const { grant } = await grantOf(c);
  const result = await attempt(() => voidCreditGrant(serviceContext(c), grant.id));
  if (!result.ok) {
    if (result.error.status === 404) throw result.error;
    return voidPage(c, result.error.message, errorStatus(result.error.status));
  }
  return c.redirect(creditsPath(grant.customer_id), 303);
});

// ——— Adjust ———

async function adjustPage(c: DashboardContext, form: FormState, status: Status = 200) {
  const { customer, grant } = await grantOf(c);
  return render(
    c,
    "Adjust credit grant",
    <>
      <CustomerCrumbs customer={customer} />
      <h1>Adjust {grant.name}</h1>
      <div class="card">
        <GrantSummary grant={grant} />
        <form method="post" action={`${grantPath(grant)}/adjust`} style="margin-top:14px">
          <Csrf token={c.get("page").csrf} />
          <FormError state={form} />
          <div class="grid">
            <Field state={form} name="amount" label={`Amount (${grant.currency})`} placeholder="-5.00" hint="Positive adds to the balance, negative takes from it" />
            <Field state={form} name="reason" label="Reason" placeholder="Goodwill for the outage on March 3" hint="Kept in the credit ledger" />
          </div>
          <div class="actions">
            <button type="submit">Adjust</button>
            <a href={creditsPath(customer.id)}>Cancel</a>
          </div>
        </form>
      </div>
    </>,
    status,
  );
}

grantActionPages.get("/:id/credit_grants/:grant/adjust", (c) => adjustPage(c, emptyForm()));

grantActionPages.post("/:id/credit_grants/:grant/adjust", async (c) => {
  const values = await postedForm(c);
  const { grant } = await grantOf(c);
  const errors: FieldErrors = {};
  const body: Record<string, unknown> = { reason: values.reason?.trim() || undefined };
  readAmounts(values, ["amount"], body, errors, { currency: grant.currency, signed: true });
  const checked = await attempt(async () => parseWith(AdjustCreditGrantBody, body));
  if (!checked.ok || Object.keys(errors).length > 0) {
    const all = { ...(checked.ok ? {} : plainWords(fieldErrors(checked.error, ADJUST_FIELDS))), ...errors };
    return adjustPage(c, { values, errors: all }, checked.ok ? 400 : errorStatus(checked.error.status));
  }
  const result = await attempt(() => adjustCreditGrant(serviceContext(c), grant.id, checked.value));
  if (!result.ok) {
    if (result.error.status === 404) throw result.error;
    return adjustPage(c, { values, errors: plainWords(fieldErrors(result.error, ADJUST_FIELDS)) }, errorStatus(result.error.status));
  }
  return c.redirect(creditsPath(grant.customer_id), 303);
});
