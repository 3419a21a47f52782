// Customers: list with filters, "Add customer", a customer's page (contracts, invoices, usage this period, alerts,
// credits) and its edit form (with the ledger shard count).
import { CreateCustomerBody, ListCustomersQuery, UpdateCustomerBody } from "../../schemas/customers";
import { listContracts } from "../../services/contracts/views";
import { archiveCustomer, createCustomer, getCustomer, listCustomers, serializeCustomer, updateCustomer } from "../../services/customers";
import { listInvoices, upcomingInvoice } from "../../services/invoices";
import { MAX_LEDGER_SHARDS } from "../../domain/ledger-shards";
import { ApiError } from "../../errors";
import { UsageSection } from "../chart";
import { dateTime, money, quantity } from "../format";
import { attempt, bodyFromForm, fieldErrors, paramInWords, parseWith, type FormValues } from "../forms";
import { Badge, Csrf, emptyForm, Field, FormError, Pager, type FormState, TitleBar } from "../layout";
import { planNames } from "../lookups";
import { callerIn, db, errorStatus, newPages, postedForm, queryOf, render, type DashboardContext } from "../page";
import { ContractTable, InvoiceTable, ScrollTable } from "../tables";
import { loadUsageChart } from "../usage";
import { parseTimestamp } from "../../domain/time";
import { serviceContext } from "../../services/context";
import { creditPages, CreditsSection, loadCredits } from "./credits";
import { AlertsSection, loadCustomerAlerts } from "./customer-alerts";

const FIELDS = ["name", "email", "external_id", "payment_provider_id"];
const EDIT_FIELDS = [...FIELDS, "ledger_shards"];

async function listPage(c: DashboardContext, form: FormState, status: 200 | 400 | 404 | 409 | 422 = 200) {
  // `external_id` (an exact match) still works for links made before the search box; a search replaces it.
  const q = queryOf(c, ["q", "external_id", "include_archived", "cursor"]);
  const query = parseWith(ListCustomersQuery, { ...q, include_archived: q.include_archived ? "true" : undefined });
  const page = await listCustomers(db(c), callerIn(c), query, q.q);
  const csrf = c.get("page").csrf;
  return render(
    c,
    "Customers",
    <>
      <TitleBar title="Customers" action={{ label: "Add customer", href: "#add" }} />
      <p class="sub">The companies you bill. Open one to see its contracts, invoices and usage.</p>
      <form method="get" class="filters">
        <div class="field">
          <label for="q-search">Search</label>
          <input id="q-search" name="q" type="search" value={q.q ?? ""} placeholder="Name, email or external ID" />
        </div>
        <label>
          <input type="checkbox" name="include_archived" value="true" checked={q.include_archived !== undefined} /> Include archived
        </label>
        <button type="submit" class="secondary">
          Search
        </button>
      </form>
      {page.data.length === 0 ? (
        <p class="muted">{q.q || q.external_id ? "No customers match." : "No customers yet."}</p>
      ) : (
        <ScrollTable testid="customers-table" columns={["Name", "External ID", "Email", "Stripe customer", "Created"]}>
          {page.data.map((cu) => (
            <tr>
              <td>
                <a href={`/dashboard/customers/${cu.id}`}>{cu.name}</a> {cu.archived_at ? <Badge status="void" label="archived" /> : null}
              </td>
              <td class="mono">{cu.external_id ?? "—"}</td>
              <td>{cu.email ?? "—"}</td>
              <td class="mono">{cu.payment_provider_id ?? "—"}</td>
              <td>{dateTime(cu.created_at)}</td>
            </tr>
          ))}
        </ScrollTable>
      )}
      <Pager next={page.next_cursor} base="/dashboard/customers" params={{ q: q.q, external_id: q.external_id, include_archived: q.include_archived }} />

      <h2 id="add">Add customer</h2>
      <div class="card">
        <form method="post" action="/dashboard/customers">
          <Csrf token={csrf} />
          <FormError state={form} />
          <div class="grid">
            <Field state={form} name="name" label="Name" placeholder="Acme Inc" />
            <Field state={form} name="email" label="Email" placeholder="billing@acme.com" />
            <Field state={form} name="external_id" label="External ID" hint="Your own id for this customer (unique; empty = the customer's id)" />
            <Field state={form} name="payment_provider_id" label="Stripe customer ID" hint="Optional: link an existing Stripe customer (cus_…)" />
          </div>
          <div class="actions">
            <button type="submit">Add customer</button>
          </div>
        </form>
      </div>
    </>,
    status,
  );
}

export const customerPages = newPages();

customerPages.get("/", (c) => listPage(c, emptyForm()));

customerPages.post("/", async (c) => {
  const values = await postedForm(c);
  const result = await attempt(async () => {
    const input = parseWith(CreateCustomerBody, bodyFromForm(values));
    return createCustomer(serviceContext(c), input);
  });
  if (!result.ok) return listPage(c, { values, errors: fieldErrors(result.error, FIELDS) }, errorStatus(result.error.status));
  return c.redirect(`/dashboard/customers/${result.value.id}`, 303);
});

customerPages.get("/:id", async (c) => {
  const caller = callerIn(c);
  const d = db(c);
  const customer = serializeCustomer(await getCustomer(d, caller, c.req.param("id")));
  const now = c.get("now");
  const [contracts, invoices, credits, alerts] = await Promise.all([
    listContracts(d, caller, { customer_id: customer.id, limit: 100 }, now),
    listInvoices(c.env, caller, { customer_id: customer.id, limit: 100 }),
    loadCredits(c, customer.id),
    loadCustomerAlerts(c, customer.id),
  ]);
  let upcoming = null;
  try {
    upcoming = await upcomingInvoice(c.env, caller, customer.id, now);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  const plans = await planNames(d, caller, contracts.data.map((k) => k.plan_id));
  const names = new Map([[customer.id, customer.name]]);
  // The usage chart defaults to the current billing period (the draft's), so it needs the draft first.
  const period = upcoming ? { start: parseTimestamp(upcoming.period_start)!, end: parseTimestamp(upcoming.period_end)! } : null;
  const chart = await loadUsageChart(c.env, caller, customer.id, queryOf(c, ["meter", "group_by", "from", "to"]), period, now);
  const usageLines = upcoming ? upcoming.line_items.filter((l) => l.meter_code !== undefined) : [];
  return render(
    c,
    customer.name,
    <>
      <p class="muted">
        <a href="/dashboard/customers">Customers</a> /
      </p>
      <h1>
        {customer.name} {customer.archived_at ? <Badge status="void" label="archived" /> : null}
      </h1>
      <div class="card">
        <dl class="props">
          <dt>ID</dt>
          <dd class="mono">{customer.id}</dd>
          <dt>External ID</dt>
          <dd class="mono">{customer.external_id ?? "—"}</dd>
          <dt>Email</dt>
          <dd>{customer.email ?? "—"}</dd>
          <dt>Stripe customer</dt>
          <dd class="mono">{customer.payment_provider_id ?? "—"}</dd>
          <dt>Created</dt>
          <dd>{dateTime(customer.created_at)}</dd>
          {/* Only worth a line once raised: one ledger is every customer's default and says nothing. */}
          {customer.ledger_shards > 1 ? (
            <>
              <dt>Ledger shards</dt>
              <dd data-testid="ledger-shards">
                {customer.ledger_shards}{" "}
                <span class="muted">
                  · This customer's events are spread over {customer.ledger_shards} ledgers so it can send more events per second; its
                  invoices are the same. Voiding a range of events, voiding a draft invoice and regenerating an invoice are not available for it yet.
                </span>
              </dd>
            </>
          ) : null}
        </dl>
        <div class="actions">
          <a class="button" href={`/dashboard/contracts?customer_id=${customer.id}#new`}>
            Create contract
          </a>
          <a class="button secondary" href={`/dashboard/events?customer_id=${customer.id}`}>
            Events
          </a>
          {customer.archived_at ? null : (
            <a class="button secondary" href={`/dashboard/customers/${customer.id}/edit`}>
              Edit
            </a>
          )}
          {customer.archived_at ? null : (
            <a class="button danger" href={`/dashboard/customers/${customer.id}/archive`}>
              Archive…
            </a>
          )}
        </div>
      </div>

      <h2>Usage this period</h2>
      {upcoming ? (
        <>
          <p class="sub">
            {dateTime(upcoming.period_start)} → {dateTime(upcoming.period_end)} · draft total{" "}
            <strong data-testid="upcoming-total">{money(upcoming.total, upcoming.currency)}</strong> ·{" "}
            <a href={`/dashboard/invoices/${upcoming.id}`}>open the draft invoice</a>
          </p>
          {usageLines.length > 0 ? (
            <table style="margin-top:12px">
              <thead>
                <tr>
                  <th>Billed usage</th>
                  <th>Meter</th>
                  <th class="num">Quantity</th>
                  <th class="num">Amount</th>
                </tr>
              </thead>
              <tbody>
                {usageLines.map((l) => (
                  <tr>
                    <td>{l.name}</td>
                    <td class="mono">{l.meter_code}</td>
                    <td class="num">{quantity(l.quantity)}</td>
                    <td class="num">{money(l.amount, upcoming.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </>
      ) : (
        <p class="muted">No open billing period: this customer has no contract with a draft invoice.</p>
      )}

      <UsageSection customerId={customer.id} data={chart} />

      <AlertsSection customerId={customer.id} alerts={alerts} currency={upcoming?.currency ?? null} archived={customer.archived_at !== null} />

      <CreditsSection customerId={customer.id} credits={credits} archived={customer.archived_at !== null} />

      <h2>Contracts</h2>
      <ContractTable contracts={contracts.data} names={names} plans={plans} />
      <h2>Invoices</h2>
      <InvoiceTable invoices={invoices.data} names={names} />
    </>,
  );
});

// Credits: /:id/credit_grants/…, /:id/credit_ledger (pages/credits.tsx).
customerPages.route("/", creditPages);

customerPages.get("/:id/archive", async (c) => {
  const customer = await getCustomer(db(c), callerIn(c), c.req.param("id"));
  return render(
    c,
    "Archive customer",
    <div class="card">
      <h1>Archive {customer.name}?</h1>
      <p>An archived customer takes no new events and no new contracts. Its contracts, invoices and history stay readable.</p>
      <form method="post" action={`/dashboard/customers/${customer.id}/archive`}>
        <Csrf token={c.get("page").csrf} />
        <div class="actions">
          <button type="submit" class="danger">
            Yes, archive
          </button>
          <a href={`/dashboard/customers/${customer.id}`}>Keep it</a>
        </div>
      </form>
    </div>,
  );
});

customerPages.post("/:id/archive", async (c) => {
  const row = await archiveCustomer(serviceContext(c), c.req.param("id"));
  return c.redirect(`/dashboard/customers/${row.id}`, 303);
});

async function editPage(c: DashboardContext, form: FormState | null, status: 200 | 400 | 404 | 409 | 422 = 200) {
  const customer = serializeCustomer(await getCustomer(db(c), callerIn(c), c.req.param("id")!));
  const state = form ?? {
    values: {
      name: customer.name,
      email: customer.email ?? "",
      external_id: customer.external_id ?? "",
      payment_provider_id: customer.payment_provider_id ?? "",
      ledger_shards: String(customer.ledger_shards),
      ledger_shards_shown: String(customer.ledger_shards),
    },
    errors: {},
  };
  const shardsError = state.errors.ledger_shards;
  return render(
    c,
    `Edit ${customer.name}`,
    <>
      <p class="muted">
        <a href="/dashboard/customers">Customers</a> / <a href={`/dashboard/customers/${customer.id}`}>{customer.name}</a> /
      </p>
      <h1>Edit customer</h1>
      <div class="card">
        <form method="post" action={`/dashboard/customers/${customer.id}/edit`}>
          <Csrf token={c.get("page").csrf} />
          <FormError state={state} />
          <div class="grid">
            <Field state={state} name="name" label="Name" />
            <Field state={state} name="email" label="Email" hint="Empty removes it" />
            <Field state={state} name="external_id" label="External ID" hint="Empty removes it" />
            <Field state={state} name="payment_provider_id" label="Stripe customer ID" hint="Empty removes it" />
            {/* Not <Field>: a number input with bounds, so the browser offers only counts the API accepts. */}
            <div class={`field${shardsError ? " has-error" : ""}`}>
              <label for="f-ledger_shards">Ledger shards</label>
              <input
                id="f-ledger_shards"
                name="ledger_shards"
                type="number"
                min={customer.ledger_shards}
                max={MAX_LEDGER_SHARDS}
                step={1}
                value={state.values.ledger_shards ?? ""}
              />
              {shardsError ? (
                <span class="error" data-error-for="ledger_shards">
                  {shardsError}
                </span>
              ) : (
                <span class="hint">
                  More ledgers take more of this customer's events per second; its invoices are the same. Can only be raised (up to{" "}
                  {MAX_LEDGER_SHARDS}).
                </span>
              )}
            </div>
          </div>
          {/* The count the form showed: ledger_shards is sent only when the person changed it (see shardsChange). */}
          <input type="hidden" name="ledger_shards_shown" value={state.values.ledger_shards_shown ?? String(customer.ledger_shards)} />
          <div class="actions">
            <button type="submit">Save</button>
            <a href={`/dashboard/customers/${customer.id}`}>Cancel</a>
          </div>
        </form>
      </div>
    </>,
    status,
  );
}

customerPages.get("/:id/edit", (c) => editPage(c, null));

/**
 * The ledger shard count to send, or undefined when the person left it as the form showed it.
 * NOTE: compared with the count the form showed, not the stored one: a form opened before someone else raised the count
 * must still save its other fields, rather than be refused for "lowering" a count nobody touched.
 * NOTE: what is not a whole number from 1 to 64 is refused here in words; the API's schema would say "Too big: expected
 * number to be <=64". A lower count goes to updateCustomer, whose refusal names the current count.
 */
function shardsChange(values: FormValues): number | undefined {
  const raw = (values.ledger_shards ?? "").trim();
  if (raw === "" || raw === (values.ledger_shards_shown ?? "").trim()) return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_LEDGER_SHARDS)) {
    throw new ApiError("parameter_invalid", `Type a whole number from 1 to ${MAX_LEDGER_SHARDS}`, { param: "ledger_shards" });
  }
  return n;
}

customerPages.post("/:id/edit", async (c) => {
  const values = await postedForm(c);
  const result = await attempt(async () => {
    // The form shows every field, so it sends every field: an emptied optional field is cleared (null), as a PATCH
    // with null does; an emptied name is sent as given and refused by the API's schema.
    const orNull = (v: string | undefined) => (v === undefined || v.trim() === "" ? null : v.trim());
    const shards = shardsChange(values);
    const body = {
      name: (values.name ?? "").trim(),
      email: orNull(values.email),
      external_id: orNull(values.external_id),
      payment_provider_id: orNull(values.payment_provider_id),
      ...(shards !== undefined ? { ledger_shards: shards } : {}),
    };
    return updateCustomer(serviceContext(c), c.req.param("id"), parseWith(UpdateCustomerBody, body));
  });
  if (!result.ok) {
    if (result.error.code === "customer_not_found") throw result.error;
    const errors = fieldErrors(result.error, EDIT_FIELDS);
    if (errors.ledger_shards) errors.ledger_shards = paramInWords("ledger_shards", errors.ledger_shards);
    return editPage(c, { values, errors }, errorStatus(result.error.status));
  }
  return c.redirect(`/dashboard/customers/${result.value.id}`, 303);
});
