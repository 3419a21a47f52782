// The filter bar of list pages: a customer picker and an optional status picker, submitted as a GET form.
import type { Child, FC } from "hono/jsx";

interface CustomerChoice {
  id: string;
  name: string;
  externalId?: string | null;
  /** Tells namesakes apart (lookups.ts labelChoices); the name when absent. */
  label?: string;
}

/** Filters by customer (matched by id or external id, as the API accepts both) and, when given, by status. */
export const CustomerStatusFilters: FC<{
  customers: CustomerChoice[];
  customerId: string | undefined;
  statuses?: readonly string[];
  status?: string | undefined;
  children?: Child;
}> = ({ customers, customerId, statuses, status, children }) => (
  <form method="get" class="filters">
    <div class="field">
      <label for="q-customer">Customer</label>
      <select id="q-customer" name="customer_id">
        <option value="">All customers</option>
        {customers.map((cu) => (
          <option value={cu.id} selected={customerId === cu.id || (customerId !== undefined && customerId === cu.externalId)}>
            {cu.label ?? cu.name}
          </option>
        ))}
      </select>
    </div>
    {statuses ? (
      <div class="field">
        <label for="q-status">Status</label>
        <select id="q-status" name="status">
          <option value="">Any</option>
          {statuses.map((s) => (
            <option value={s} selected={status === s}>
              {s}
            </option>
          ))}
        </select>
      </div>
    ) : null}
    {children}
    <button type="submit" class="secondary">
      Filter
    </button>
  </form>
);
