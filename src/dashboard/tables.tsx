// Tables several pages show: contracts and invoices (a customer page lists both).
import type { z } from "@hono/zod-openapi";
import type { FC } from "hono/jsx";
import type { InvoiceView } from "../ledger/customer-ledger";
import type { Contract } from "../schemas/contracts";
import { date, money } from "./format";
import { Badge } from "./layout";

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
    <table data-testid="contracts-table">
      <thead>
        <tr>
          <th>Contract</th>
          <th>Customer</th>
          <th>Plan</th>
          <th>Status</th>
          <th>Start</th>
          <th>Current period</th>
          <th>Auto-pay</th>
        </tr>
      </thead>
      <tbody>
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
      </tbody>
    </table>
  );

export const InvoiceTable: FC<{ invoices: InvoiceView[]; names: Map<string, string> }> = ({ invoices, names }) =>
  invoices.length === 0 ? (
    <p class="muted">No invoices.</p>
  ) : (
    <table data-testid="invoices-table">
      <thead>
        <tr>
          <th>Invoice</th>
          <th>Customer</th>
          <th>Period</th>
          <th>Status</th>
          <th>Due</th>
          <th class="num">Total</th>
        </tr>
      </thead>
      <tbody>
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
      </tbody>
    </table>
  );
