// What a customer's credit pages share: their paths and breadcrumb back to the customer, and reading their forms (amounts
// as typed, the API's messages in the form's words).
import type { FC } from "hono/jsx";
import type { CreditGrantView } from "../../schemas/credits";
import { DATE_HINT, type FieldErrors, type FormValues } from "../forms";
import { amountInput } from "../input";

export const customerPath = (customerId: string) => `/dashboard/customers/${customerId}`;
/** The Credits section of the customer's page: where the credit pages come from and go back to. */
export const creditsPath = (customerId: string) => `${customerPath(customerId)}#credits`;
export const grantPath = (g: Pick<CreditGrantView, "id" | "customer_id">) => `${customerPath(g.customer_id)}/credit_grants/${g.id}`;

/** "Customers / <name> /" above a credit page's title. */
export const CustomerCrumbs: FC<{ customer: { id: string; name: string } }> = ({ customer }) => (
  <p class="muted">
    <a href="/dashboard/customers">Customers</a> / <a href={creditsPath(customer.id)}>{customer.name}</a> /
  </p>
);

/** The API's messages where they speak in parameter names and formats rather than the form's words. */
export function plainWords(errors: FieldErrors): FieldErrors {
  const out: FieldErrors = {};
  for (const [field, message] of Object.entries(errors)) {
    let m = message;
    if (m.startsWith(DATE_HINT)) m = "must be a date such as 2026-03-31";
    else if (m === "expires_at must be after effective_at") m = "must be after the effective date (today when that is empty)";
    else if (m === "purchase_price is for prepaid grants only") m = "only prepaid credit has a purchase price: choose Prepaid, or leave this empty";
    else if (/ is required$/.test(m) && field !== "_form") m = "required";
    out[field] = m;
  }
  return out;
}

/** Amount fields as typed → decimal strings in `body`; what cannot be read goes to `errors`. */
export function readAmounts(
  values: FormValues,
  fields: string[],
  body: Record<string, unknown>,
  errors: FieldErrors,
  options: { currency?: string | null; signed?: boolean },
) {
  for (const f of fields) {
    const raw = values[f]?.trim() ?? "";
    if (raw === "") continue;
    const parsed = amountInput(raw, options);
    if (parsed.ok) body[f] = parsed.value;
    else errors[f] = parsed.message;
  }
}
