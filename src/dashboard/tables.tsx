// Tables several pages show: contracts and invoices (a customer page lists both), credit grants and credit ledger entries,
// and the sideways-scrolling frame of the wide ones.
import type { z } from "@hono/zod-openapi";
import type { FC, PropsWithChildren } from "hono/jsx";
import type { InvoiceView } from "../ledger/types";
import type { Contract } from "../schemas/contracts";
import type { CreditGrantView, CreditLedgerEntryView } from "../schemas/credits";
import { date, dateTime, money, number } from "./format";
import { Badge } from "./layout";

/** A header cell: the column's name, `{ num }` for a right-aligned number column, or null for a column left out. */
export type Column = string | { num: string } | null;

/**
 * A table too wide for a narrow screen, which then scrolls sideways (the layout's .scroll-x) instead of widening the
 * page; `columns` make its header row, the children its rows.
 */
export const ScrollTable: FC<PropsWithChildren<{ testid: string; columns: Column[] }>> = ({ testid, columns, children }) => (
  <div class="scroll-x">
    <table data-testid={testid}>
      <thead>
        <tr>{columns.map((col) => (col === null ? null : typeof col === "string" ? <th>{col}</th> : <th class="num">{col.num}</th>))}</tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  </div>
);

/** The fields of a contract (as the API shows it) that the table reads. */
export type ContractListItem = Pick<
  z.output<typeof Contract>,
  "id" | "customer_id" | "plan_id" | "status" | "start_date" | "end_date" | "current_period_start" | "current_period_end" | "auto_pay"
>;

export const ContractTable: FC<{ contracts: ContractListItem[]; names: Map<string, string>; plans: Map<string, string> }> = ({
  contracts,
  names,
  plans,
}) =>
  contracts.length === 0 ? (
    <p class="muted">No contracts.</p>
  ) : (
    <ScrollTable testid="contracts-table" columns={["Contract", "Customer", "Plan", "Status", "Start", "Current period", "Auto-pay"]}>
      {contracts.map((k) => (
        <tr>
          <td>
            <a href={`/dashboard/contracts/${k.id}`} class="mono">
              {k.id.slice(0, 8)}
            </a>
          </td>
          <td>
            <a href={`/dashboard/customers/${k.customer_id}`}>{names.get(k.customer_id) ?? k.customer_id.slice(0, 8)}</a>
          </td>
          <td>
            <a href={`/dashboard/plans/${k.plan_id}`}>{plans.get(k.plan_id) ?? k.plan_id.slice(0, 8)}</a>
          </td>
          <td>
            <Badge status={k.status} />
          </td>
          <td>{date(k.start_date)}</td>
          <td>
            {date(k.current_period_start)} → {date(k.current_period_end)}
          </td>
          <td>{k.auto_pay ? "On" : "Off"}</td>
        </tr>
      ))}
    </ScrollTable>
  );

export const InvoiceTable: FC<{ invoices: InvoiceView[]; names: Map<string, string> }> = ({ invoices, names }) =>
  invoices.length === 0 ? (
    <p class="muted">No invoices.</p>
  ) : (
    <ScrollTable testid="invoices-table" columns={["Invoice", "Customer", "Period", "Status", "Due", { num: "Total" }]}>
      {invoices.map((inv) => (
        <tr>
          <td>
            <a href={`/dashboard/invoices/${inv.id}`}>{inv.number !== null ? `#${inv.number}` : `Draft ${inv.id.slice(0, 8)}`}</a>
          </td>
          <td>
            <a href={`/dashboard/customers/${inv.customer_id}`}>{names.get(inv.customer_id) ?? inv.customer_id.slice(0, 8)}</a>
          </td>
          <td>
            {date(inv.period_start)} → {date(inv.period_end)}
          </td>
          <td>
            <Badge status={inv.status} />
          </td>
          <td>{date(inv.due_date)}</td>
          <td class="num">{money(inv.total, inv.currency)}</td>
        </tr>
      ))}
    </ScrollTable>
  );

/** A grant's status as a badge: voided reads like a voided invoice, waiting for payment like a scheduled contract. */
const GRANT_BADGE: Record<CreditGrantView["status"], string> = {
  pending_payment: "scheduled",
  active: "active",
  depleted: "ended",
  expired: "ended",
  voided: "void",
};

export const GrantStatus: FC<{ status: CreditGrantView["status"] }> = ({ status }) => (
  <Badge status={GRANT_BADGE[status]} label={status.replace("_", " ")} />
);

/** "2026-03-01" at midnight UTC (how dates are typed), else the minute. */
const instant = (iso: string) => (iso.slice(11, 19) === "00:00:00" ? date(iso) : dateTime(iso));

/** Voided and expired grants take no more actions. */
export const grantIsOpen = (g: Pick<CreditGrantView, "status">) => g.status !== "voided" && g.status !== "expired";

export const CreditGrantTable: FC<{ grants: CreditGrantView[]; actions: boolean }> = ({ grants, actions }) =>
  grants.length === 0 ? (
    <p class="muted">No credit grants.</p>
  ) : (
    <ScrollTable
      testid="credit-grants-table"
      columns={[
        "Grant", "Type", "Status", { num: "Amount" }, { num: "Balance" }, { num: "Available" }, { num: "Priority" },
        "Effective → expires", "Applies to", actions ? "" : null,
      ]}
    >
      {grants.map((g) => (
        <tr data-grant={g.id}>
          <td>
            {g.name}
            <div class="muted mono">{g.id.slice(0, 8)}</div>
          </td>
          <td>
            {g.type}
            {g.invoice_id ? (
              <div>
                <a href={`/dashboard/invoices/${g.invoice_id}`}>purchase invoice</a>
                {g.purchase_price !== null ? <span class="muted"> ({money(g.purchase_price, g.currency)})</span> : null}
              </div>
            ) : null}
          </td>
          <td>
            <GrantStatus status={g.status} />
          </td>
          <td class="num">{money(g.amount, g.currency)}</td>
          <td class="num">{money(g.balance, g.currency)}</td>
          <td class="num" data-testid="grant-available">
            {money(g.available, g.currency)}
          </td>
          <td class="num">{g.priority}</td>
          <td>
            {instant(g.effective_at)} → {g.expires_at ? instant(g.expires_at) : "never"}
          </td>
          <td>{g.applies_to ? <span class="mono">{g.applies_to.meter_codes.join(", ")}</span> : "every line"}</td>
          {actions ? (
            <td>
              {grantIsOpen(g) ? (
                <>
                  <a href={`/dashboard/customers/${g.customer_id}/credit_grants/${g.id}/adjust`} data-action="adjust">
                    Adjust
                  </a>{" "}
                  ·{" "}
                  <a href={`/dashboard/customers/${g.customer_id}/credit_grants/${g.id}/void`} data-action="void">
                    Void…
                  </a>
                </>
              ) : null}
            </td>
          ) : null}
        </tr>
      ))}
    </ScrollTable>
  );

const ENTRY_WORDS: Record<CreditLedgerEntryView["type"], string> = {
  granted: "granted",
  applied: "applied to an invoice",
  released: "released (invoice voided)",
  adjusted: "adjusted",
  expired: "expired",
  voided: "voided",
};

/** An entry's signed amount: "+$25.00", "-$20.00" (no currency when its grant is not at hand). */
function signed(amount: string, currency: string | undefined): string {
  const text = currency ? money(amount, currency) : number(amount);
  return amount.startsWith("-") ? text : `+${text}`;
}

/** Credit ledger entries, newest first; `grants` names each entry's grant and gives its currency. */
export const CreditLedgerTable: FC<{ entries: CreditLedgerEntryView[]; grants: Map<string, Pick<CreditGrantView, "name" | "currency">> }> = ({
  entries,
  grants,
}) =>
  entries.length === 0 ? (
    <p class="muted">No credit ledger entries.</p>
  ) : (
    <ScrollTable testid="credit-ledger-table" columns={["Time", "Entry", "Grant", { num: "Amount" }, { num: "Balance after" }, "Invoice", "Reason"]}>
      {entries.map((e) => {
        const grant = grants.get(e.grant_id);
        return (
          <tr data-entry={e.type}>
            <td>{dateTime(e.created_at)}</td>
            <td>{ENTRY_WORDS[e.type]}</td>
            <td>{grant ? grant.name : <span class="mono">{e.grant_id.slice(0, 8)}</span>}</td>
            <td class="num">{signed(e.amount, grant?.currency)}</td>
            <td class="num">{grant ? money(e.balance_after, grant.currency) : number(e.balance_after)}</td>
            <td>{e.invoice_id ? <a href={`/dashboard/invoices/${e.invoice_id}`}>{e.invoice_id.slice(0, 8)}</a> : "—"}</td>
            <td>{e.reason ?? "—"}</td>
          </tr>
        );
      })}
    </ScrollTable>
  );
