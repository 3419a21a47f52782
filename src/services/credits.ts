// Credit grants, the credit ledger and auto top-up (SPEC §15): input rules (currency, rounding, meters, dates), the
// customer's ledger doing the work, and collecting a prepaid grant's purchase invoice through the auto-pay path.
import type { z } from "@hono/zod-openapi";
import { and, eq, inArray } from "drizzle-orm";
import { chargeInvoice } from "../billing/charge";
import { DEFAULT_LIMIT } from "../db/pagination";
import { meters } from "../db/schema";
import { normalizeCurrency } from "../domain/currency";
import { formatAmount, parseDecimal, roundToMinor } from "../domain/money";
import type { Caller, Env } from "../env";
import { ApiError, notFound } from "../errors";
import type { GrantRefusal, NewGrant } from "../ledger/credits";
import { ledgerStub } from "../ledger/stub";
import type { InvoiceView } from "../ledger/types";
import { stripeAccess } from "../payments/stripe";
import type {
  AdjustCreditGrantBody,
  CreateCreditGrantBody,
  CreditGrantsQuery,
  CreditGrantView,
  CreditLedgerQuery,
  CreditTopUpBody,
  CreditTopUpView,
} from "../schemas/credits";
import type { ServiceContext } from "./context";
import { getCustomer } from "./customers";
import { customersHintedBy } from "./ledger-ids";

type CustomerRow = Awaited<ReturnType<typeof getCustomer>>;

function currencyOf(code: string): string {
  const currency = normalizeCurrency(code);
  if (!currency) throw new ApiError("currency_unsupported", `${code} is not a supported ISO 4217 currency`, { param: "currency" });
  return currency;
}

/** An amount rounded half-up to the currency's minor unit, as line amounts are; `positive`: at least one minor unit. */
function money(value: string, currency: string, param: string, positive: boolean): string {
  const rounded = formatAmount(roundToMinor(value, currency), currency);
  if (positive && parseDecimal(rounded).isZero()) {
    throw new ApiError("parameter_invalid", `${param} is less than one minor unit of ${currency} once rounded`, { param });
  }
  return rounded;
}

function refuseArchived(customer: CustomerRow): void {
  if (customer.archivedAt !== null) throw new ApiError("customer_archived", "The customer is archived", { param: "id" });
}

function who(caller: Caller, customerId: string) {
  return { accountId: caller.accountId, mode: caller.mode, customerId };
}

/** Creates a grant; a prepaid one is collected at once when the customer is linked to Stripe (auto-pay). */
export async function createCreditGrant(ctx: ServiceContext, customerRef: string, body: z.output<typeof CreateCreditGrantBody>): Promise<CreditGrantView> {
  const { env, db, caller, now } = ctx;
  const customer = await getCustomer(db, caller, customerRef);
  refuseArchived(customer);
  const currency = currencyOf(body.currency);
  if (body.type === "promotional" && body.purchase_price !== undefined) {
    throw new ApiError("parameter_invalid", "purchase_price is for prepaid grants only", { param: "purchase_price" });
  }
  const effectiveAt = body.effective_at ?? now;
  const expiresAt = body.expires_at ?? null;
  if (expiresAt !== null && expiresAt <= effectiveAt) {
    throw new ApiError("parameter_invalid", "expires_at must be after effective_at", { param: "expires_at" });
  }
  const meterCodes = body.applies_to ? [...new Set(body.applies_to.meter_codes)] : null;
  if (meterCodes) {
    const known = await db
      .select({ code: meters.code })
      .from(meters)
      .where(and(eq(meters.accountId, caller.accountId), eq(meters.mode, caller.mode), inArray(meters.code, meterCodes)));
    const missing = body.applies_to!.meter_codes.findIndex((code) => !known.some((k) => k.code === code));
    if (missing >= 0) {
      throw new ApiError("meter_not_found", `No meter with code ${body.applies_to!.meter_codes[missing]}`, { param: `applies_to.meter_codes[${missing}]` });
    }
  }
  const input: NewGrant = {
    name: body.name,
    type: body.type,
    amount: money(body.amount, currency, "amount", true),
    currency,
    purchasePrice: body.purchase_price === undefined ? null : money(body.purchase_price, currency, "purchase_price", false),
    priority: body.priority ?? 50,
    effectiveAt,
    expiresAt,
    meterCodes,
    // NOTE: "auto-pay when the customer has a saved card": a customer linked to Stripe is charged off-session; a decline
    // is recorded on the purchase invoice and retried on auto-pay's schedule, like any invoice.
    autoPay: customer.paymentProviderId !== null,
  };
  const { grant, invoice } = await ledgerStub(env, caller, customer.id).createCreditGrant(who(caller, customer.id), customer.ledgerVersion, input, now);
  if (invoice?.auto_pay) {
    await collectNow(env, caller, invoice, now);
    return (await ledgerStub(env, caller, customer.id).getCreditGrant(grant.id)) ?? grant;
  }
  return grant;
}

/**
 * Charges an invoice now through the auto-pay path (its retries and Stripe idempotency key from the invoice): a credit
 * purchase, or a threshold invoice (SPEC §16). NOTE: a decline, an unconfigured Stripe or a lost answer is not an error
 * of the call that made the invoice: the invoice records it and auto-pay's schedule (or /pay, or a payment link)
 * collects it later.
 */
export async function collectNow(env: Env, caller: Pick<Caller, "accountId" | "mode">, invoice: Pick<InvoiceView, "id">, now: number): Promise<void> {
  const access = await stripeAccess(env, caller);
  if (!access) return;
  try {
    await chargeInvoice(env, caller, invoice.id, "auto_pay", now, access);
  } catch (err) {
    console.error("collecting an invoice now failed; auto-pay retries it", err);
  }
}

/** The ledger holding a grant of the caller's account and mode (its id names the customer). */
async function grantLedger(ctx: Pick<ServiceContext, "env" | "db" | "caller">, id: string) {
  for (const customerId of await customersHintedBy(ctx.db, ctx.caller, id)) {
    const ledger = ledgerStub(ctx.env, ctx.caller, customerId);
    const grant = await ledger.getCreditGrant(id);
    if (grant) return { ledger, grant };
  }
  throw notFound("credit_grant", "id");
}

export async function getCreditGrant(ctx: Pick<ServiceContext, "env" | "db" | "caller">, id: string): Promise<CreditGrantView> {
  return (await grantLedger(ctx, id)).grant;
}

function refusal(r: GrantRefusal): ApiError {
  switch (r.error) {
    case "credit_grant_not_found":
      return notFound("credit_grant", "id");
    case "credit_grant_not_voidable":
      return new ApiError(r.error, `A ${r.status} grant cannot be voided`);
    case "credit_grant_not_adjustable":
      return new ApiError(r.error, `A ${r.status} grant cannot be adjusted`);
    case "credit_balance_insufficient":
      return new ApiError(r.error, `The grant's balance is ${r.balance}; an adjustment cannot take it below 0`, { param: "amount" });
  }
}

/** Voids a grant: the rest of its balance is removed and open drafts reprice at once. */
export async function voidCreditGrant(ctx: ServiceContext, id: string): Promise<CreditGrantView> {
  const { ledger } = await grantLedger(ctx, id);
  const out = await ledger.voidCreditGrant(id, ctx.now);
  if ("error" in out) throw refusal(out);
  return out.grant;
}

export async function adjustCreditGrant(ctx: ServiceContext, id: string, body: z.output<typeof AdjustCreditGrantBody>): Promise<CreditGrantView> {
  const { ledger } = await grantLedger(ctx, id);
  const out = await ledger.adjustCreditGrant(id, body.amount, body.reason, ctx.now);
  if ("error" in out) throw refusal(out);
  return out.grant;
}

function encodeCursor(key: string | number): string {
  return btoa(JSON.stringify(key)).replace(/=+$/, "");
}

function decodeCursor<T extends string | number>(raw: string, kind: "string" | "number"): T {
  try {
    const v = JSON.parse(atob(raw)) as unknown;
    if (typeof v === kind) return v as T;
  } catch {
    // fall through
  }
  throw new ApiError("invalid_cursor", "cursor is not one this API returned", { param: "cursor" });
}

/** A customer's grants, newest first. */
export async function listCreditGrants(ctx: Pick<ServiceContext, "env" | "db" | "caller">, customerRef: string, q: z.output<typeof CreditGrantsQuery>) {
  const customer = await getCustomer(ctx.db, ctx.caller, customerRef);
  const all = await ledgerStub(ctx.env, ctx.caller, customer.id).listCreditGrants(q.status);
  const after = q.cursor === undefined ? -1 : all.findIndex((g) => g.id === decodeCursor<string>(q.cursor!, "string"));
  const limit = q.limit ?? DEFAULT_LIMIT;
  const data = all.slice(after + 1, after + 1 + limit);
  const hasMore = after + 1 + limit < all.length;
  return { data, has_more: hasMore, next_cursor: hasMore ? encodeCursor(data[data.length - 1]!.id) : null };
}

/** A customer's credit ledger, newest first (every grant, or one). */
export async function creditLedger(ctx: Pick<ServiceContext, "env" | "db" | "caller">, customerRef: string, q: z.output<typeof CreditLedgerQuery>) {
  const customer = await getCustomer(ctx.db, ctx.caller, customerRef);
  const limit = q.limit ?? DEFAULT_LIMIT;
  const before = q.cursor === undefined ? undefined : decodeCursor<number>(q.cursor, "number");
  const rows = await ledgerStub(ctx.env, ctx.caller, customer.id).creditLedger({ grantId: q.grant_id, before, limit: limit + 1 });
  const page = rows.slice(0, limit);
  const hasMore = rows.length > limit;
  return { data: page.map((r) => r.entry), has_more: hasMore, next_cursor: hasMore ? encodeCursor(page[page.length - 1]!.seq) : null };
}

export async function putCreditTopUp(ctx: ServiceContext, customerRef: string, body: z.output<typeof CreditTopUpBody>): Promise<CreditTopUpView> {
  const customer = await getCustomer(ctx.db, ctx.caller, customerRef);
  refuseArchived(customer);
  const currency = currencyOf(body.currency);
  const amount = money(body.amount, currency, "amount", true);
  return ledgerStub(ctx.env, ctx.caller, customer.id).putCreditTopUp(
    who(ctx.caller, customer.id),
    {
      currency,
      threshold: money(body.threshold, currency, "threshold", false),
      amount,
      purchase_price: body.purchase_price === undefined ? amount : money(body.purchase_price, currency, "purchase_price", false),
      expires_after_days: body.expires_after_days ?? null,
    },
    ctx.now,
  );
}

/** The customer's top-up for `currency`, or its only one when no currency is named. */
async function topUpOf(ctx: Pick<ServiceContext, "env" | "db" | "caller">, customerRef: string, currency: string | undefined) {
  const customer = await getCustomer(ctx.db, ctx.caller, customerRef);
  const all = await ledgerStub(ctx.env, ctx.caller, customer.id).creditTopUps();
  const wanted = currency === undefined ? undefined : currencyOf(currency);
  const found = wanted === undefined ? (all.length === 1 ? all[0] : undefined) : all.find((t) => t.currency === wanted);
  if (!found) {
    const message = wanted === undefined && all.length > 1 ? "Several currencies have a top-up: name one with ?currency=" : "No auto top-up is set";
    throw new ApiError("credit_top_up_not_found", message, { param: "currency" });
  }
  return { customer, topUp: found };
}

export async function getCreditTopUp(ctx: Pick<ServiceContext, "env" | "db" | "caller">, customerRef: string, currency: string | undefined): Promise<CreditTopUpView> {
  return (await topUpOf(ctx, customerRef, currency)).topUp;
}

export async function deleteCreditTopUp(ctx: ServiceContext, customerRef: string, currency: string | undefined): Promise<CreditTopUpView> {
  const { customer, topUp } = await topUpOf(ctx, customerRef, currency);
  await ledgerStub(ctx.env, ctx.caller, customer.id).deleteCreditTopUp(topUp.currency, ctx.now);
  return topUp;
}
