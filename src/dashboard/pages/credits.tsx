// A customer's credit (SPEC §15): the Credits section of the customer page and the full credit ledger; "Grant credit" is
// credit-grant-new.tsx, Adjust and Void on a grant credit-grant-actions.tsx. Every read calls the service the /v1 credit routes call.
import type { FC } from "hono/jsx";
import { parseDecimal, ZERO, type Dec } from "../../domain/money";
import { CreditLedgerQuery, type CreditGrantView } from "../../schemas/credits";
import { serviceContext } from "../../services/context";
import { creditLedger, listCreditGrants } from "../../services/credits";
import { getCustomer } from "../../services/customers";
import { money } from "../format";
import { parseWith } from "../forms";
import { emptyForm, Pager, SelectField } from "../layout";
import { allPages } from "../lookups";
import { callerIn, db, newPages, queryOf, render, type DashboardContext } from "../page";
import { CreditGrantTable, CreditLedgerTable } from "../tables";
import { grantActionPages } from "./credit-grant-actions";
import { grantCreditPages } from "./credit-grant-new";
import { customerPath, CustomerCrumbs } from "./credit-parts";

const RECENT_ENTRIES = 10;

/** Every grant of the customer (a handful), newest first. */
const allGrants = (c: DashboardContext, customerId: string): Promise<CreditGrantView[]> =>
  allPages((page) => listCreditGrants(serviceContext(c), customerId, page));

/** What can be spent now, per currency: the `available` of active and depleted grants. */
function availableByCurrency(grants: CreditGrantView[]): [string, Dec][] {
  const sums = new Map<string, Dec>();
  for (const g of grants) {
    if (g.status !== "active" && g.status !== "depleted") continue;
    sums.set(g.currency, (sums.get(g.currency) ?? ZERO).plus(parseDecimal(g.available)));
  }
  return [...sums.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
}

export interface CustomerCredits {
  grants: CreditGrantView[];
  entries: Awaited<ReturnType<typeof creditLedger>>;
}

/** What the customer page's Credits section shows. */
export async function loadCredits(c: DashboardContext, customerId: string): Promise<CustomerCredits> {
  const [grants, entries] = await Promise.all([allGrants(c, customerId), creditLedger(serviceContext(c), customerId, { limit: RECENT_ENTRIES })]);
  return { grants, entries };
}

export const CreditsSection: FC<{ customerId: string; credits: CustomerCredits; archived: boolean }> = ({ customerId, credits, archived }) => {
  const balances = availableByCurrency(credits.grants);
  const pending = credits.grants.filter((g) => g.status === "pending_payment");
  return (
    <>
      <h2 id="credits">Credits</h2>
      <div class="card" data-testid="credit-balance">
        {balances.length === 0 ? (
          <p class="muted" style="margin:0">No credit to spend.</p>
        ) : (
          <dl class="props">
            {balances.map(([currency, sum]) => (
              <>
                <dt>Available {currency}</dt>
                <dd data-testid={`credit-available-${currency}`}>
                  <strong>{money(sum.toFixed(), currency)}</strong>
                </dd>
              </>
            ))}
          </dl>
        )}
        {pending.length > 0 ? (
          <p class="explain">
            {pending.length === 1 ? "1 prepaid grant waits" : `${pending.length} prepaid grants wait`} for its purchase invoice to be paid.
          </p>
        ) : null}
        <p class="explain">Available: what the grants can still cover after what open draft invoices take now. Drafts reprice with every event.</p>
        <div class="actions">
          {archived ? null : (
            <a class="button" href={`${customerPath(customerId)}/credit_grants/new`}>
              Grant credit
            </a>
          )}
          <a class="button secondary" href={`${customerPath(customerId)}/credit_ledger`}>
            Full credit ledger
          </a>
        </div>
      </div>
      <CreditGrantTable grants={credits.grants} actions={true} />
      <h3>Latest credit ledger entries</h3>
      <CreditLedgerTable entries={credits.entries.data} grants={new Map(credits.grants.map((g) => [g.id, g]))} />
      {credits.entries.has_more ? (
        <p class="pager">
          <a href={`${customerPath(customerId)}/credit_ledger`}>All entries →</a>
        </p>
      ) : null}
    </>
  );
};

/** The credit pages under /dashboard/customers/:id (customers.tsx mounts them): Grant credit, Void and Adjust, the ledger. */
export const creditPages = newPages();

creditPages.route("/", grantCreditPages);
creditPages.route("/", grantActionPages);

creditPages.get("/:id/credit_ledger", async (c) => {
  const customer = await getCustomer(db(c), callerIn(c), c.req.param("id"));
  const q = queryOf(c, ["grant_id", "cursor"]);
  const [page, grants] = await Promise.all([creditLedger(serviceContext(c), customer.id, parseWith(CreditLedgerQuery, q)), allGrants(c, customer.id)]);
  return render(
    c,
    `Credit ledger · ${customer.name}`,
    <>
      <CustomerCrumbs customer={customer} />
      <h1>Credit ledger</h1>
      <p class="sub">Every change to {customer.name}'s credit grants, newest first, with the grant's balance after it.</p>
      <form method="get" class="filters">
        <SelectField
          state={emptyForm({ grant_id: q.grant_id ?? "" })}
          name="grant_id"
          label="Grant"
          options={[{ value: "", label: "All grants" }, ...grants.map((g) => ({ value: g.id, label: `${g.name} (${money(g.amount, g.currency)})` }))]}
        />
        <button type="submit" class="secondary">
          Filter
        </button>
      </form>
      <CreditLedgerTable entries={page.data} grants={new Map(grants.map((g) => [g.id, g]))} />
      <Pager next={page.next_cursor} base={`${customerPath(customer.id)}/credit_ledger`} params={{ grant_id: q.grant_id }} />
    </>,
  );
});
