// Overview, the dashboard's home: billed this period, due and overdue, failed payments, events today and the top
// customers, each number a link to the list that explains it (figures from services/overview.ts).
import type { FC } from "hono/jsx";
import { formatTimestamp } from "../../domain/time";
import { overview, type CurrencyFigures, type OwedInvoice } from "../../services/overview";
import { date, money, number } from "../format";
import { callerIn, newPages, render } from "../page";
import { ScrollTable } from "../tables";

const day = (ms: number) => formatTimestamp(ms).slice(0, 10);

/** One figure: its name, the number as a link to what explains it, and a line of context. */
const Stat: FC<{ label: string; value: string; href: string; testid: string; note?: unknown }> = ({ label, value, href, testid, note }) => (
  <div class="stat card">
    <div class="label">{label}</div>
    <a class="value" href={href} data-testid={testid}>
      {value}
    </a>
    {note ? <div class="explain">{note}</div> : null}
  </div>
);

const CurrencyStats: FC<{ f: CurrencyFigures; monthStart: number; several: boolean }> = ({ f, monthStart, several }) => (
  <>
    {several ? <h2 style="margin-top:8px">{f.currency}</h2> : null}
    <div class="stats">
      <Stat
        label="Billed this period"
        value={money(f.billed, f.currency)}
        href="/dashboard/invoices?status=draft"
        testid={`billed-${f.currency}`}
        note={
          <>
            <a href="/dashboard/invoices?status=draft">{money(f.drafts, f.currency)} in open drafts</a> +{" "}
            <a href="/dashboard/invoices?status=finalized">{money(f.invoiced, f.currency)} invoiced</a> since {day(monthStart)}
          </>
        }
      />
      <Stat
        label="Amount due"
        value={money(f.due, f.currency)}
        href="/dashboard/invoices?status=finalized"
        testid={`due-${f.currency}`}
        note={`${f.dueCount} unpaid finalized invoice${f.dueCount === 1 ? "" : "s"}`}
      />
      <Stat
        label="Overdue"
        value={money(f.overdue, f.currency)}
        href="#overdue"
        testid={`overdue-${f.currency}`}
        note={`${f.overdueCount} past their due date`}
      />
    </div>
  </>
);

const OwedTable: FC<{ rows: OwedInvoice[]; testid: string }> = ({ rows, testid }) => (
  <ScrollTable testid={testid} columns={["Invoice", "Customer", "Due", { num: "Amount due" }]}>
    {rows.map((r) => (
      <tr>
        <td>
          <a href={`/dashboard/invoices/${r.id}`}>{r.number !== null ? `#${r.number}` : r.id.slice(0, 8)}</a>
        </td>
        <td>
          <a href={`/dashboard/customers/${r.customerId}`}>{r.customerName}</a>
        </td>
        <td>{r.dueDate !== null ? date(formatTimestamp(r.dueDate)) : "—"}</td>
        <td class="num">{money(r.amountDue, r.currency)}</td>
      </tr>
    ))}
  </ScrollTable>
);

export const overviewPages = newPages();

overviewPages.get("/", async (c) => {
  const o = await overview(c.env, callerIn(c), c.get("now"));
  const several = o.currencies.length > 1;
  const today = day(o.dayStart);
  return render(
    c,
    "Overview",
    <>
      <h1>Overview</h1>
      <p class="sub">
        This period so far, per currency. Open drafts are live; invoices count by their invoice date (UTC). Every number opens the list behind it.
      </p>
      {o.currencies.length === 0 ? (
        <div class="card">
          Nothing billed yet. Create a <a href="/dashboard/plans">plan</a>, then a <a href="/dashboard/contracts">contract</a> for a customer: its
          draft invoice shows here as it fills.
        </div>
      ) : (
        o.currencies.map((f) => <CurrencyStats f={f} monthStart={o.monthStart} several={several} />)
      )}
      {o.draftsComplete ? null : (
        <p class="notice">Open drafts are summed for a part of the customers only: this account has too many open drafts to read on one page.</p>
      )}
      <div class="stats">
        <Stat
          label="Failed payments"
          value={number(String(o.failed.count))}
          href="#failed"
          testid="failed-count"
          note="Finalized invoices whose last charge failed"
        />
        <Stat
          label="Events today"
          value={number(String(o.eventsToday.count))}
          href={`/dashboard/events?from=${today}`}
          testid="events-today"
          note={`${o.eventsToday.customers} customer${o.eventsToday.customers === 1 ? "" : "s"} sent events timestamped ${today} (UTC)${o.eventsToday.complete ? "" : "; counted for some of them only"}`}
        />
      </div>

      <h2>Top customers this period</h2>
      {o.topCustomers.length === 0 ? (
        <p class="muted">No spend yet this period.</p>
      ) : (
        <ScrollTable testid="top-customers" columns={["Customer", { num: "Spend this period" }]}>
          {o.topCustomers.map((t) => (
            <tr>
              <td>
                <a href={`/dashboard/customers/${t.customerId}`}>{t.name}</a>
              </td>
              <td class="num">{money(t.amount, t.currency)}</td>
            </tr>
          ))}
        </ScrollTable>
      )}

      <h2 id="failed">Failed payments</h2>
      {o.failed.count === 0 ? (
        <p class="muted">No failed payments.</p>
      ) : (
        <>
          <OwedTable rows={o.failed.invoices} testid="failed-payments" />
          {o.failed.count > o.failed.invoices.length ? (
            <p class="explain">
              The {o.failed.invoices.length} due longest ago of {o.failed.count}; <a href="/dashboard/invoices?status=finalized">all unpaid invoices</a>.
            </p>
          ) : null}
        </>
      )}

      <h2 id="overdue">Overdue invoices</h2>
      {o.overdue.length === 0 ? (
        <p class="muted">Nothing overdue.</p>
      ) : (
        <>
          <OwedTable rows={o.overdue} testid="overdue-invoices" />
          <p class="explain">
            Due longest ago first; <a href="/dashboard/invoices?status=finalized">all unpaid invoices</a>.
          </p>
        </>
      )}
    </>,
  );
});
