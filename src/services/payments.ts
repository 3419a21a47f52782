// Collecting one invoice on request: charge it now (POST /v1/invoices/:id/pay) or hand out a Stripe Checkout link.
import Stripe from "stripe";
import { chargeInvoice, loadInvoiceForPayment } from "../billing/charge";
import { minorUnitAmount } from "../domain/money";
import { formatTimestamp } from "../domain/time";
import type { Caller, Env } from "../env";
import { ApiError, notFound } from "../errors";
import type { InvoiceView } from "../ledger/types";
import { ensureStripeCustomer, requireStripe } from "../payments/stripe";
import type { ServiceContext } from "./context";
import { hostedLinks } from "./hosted-invoices";
import { getInvoice } from "./invoices";

async function payableInvoice(env: Env, caller: Caller, invoiceId: string) {
  const inv = await loadInvoiceForPayment(env, caller, invoiceId);
  if (!inv) throw notFound("invoice", "id");
  if (inv.status === "paid") throw new ApiError("invoice_already_paid", "This invoice is already paid");
  if (inv.status !== "finalized") {
    throw new ApiError("invoice_not_finalized", `Only finalized invoices can be paid; this one is ${inv.status}`);
  }
  return inv;
}

/** Stripe failing to answer (bad key, outage) is a 502, not our 500; an amount over Stripe's limit is the caller's 422. */
function stripeFailure(err: unknown): never {
  if (err instanceof Stripe.errors.StripeInvalidRequestError && err.code === "amount_too_large") {
    throw new ApiError("amount_too_large", `Stripe cannot take this invoice's amount: ${err.message}`);
  }
  if (err instanceof Stripe.errors.StripeError) {
    throw new ApiError("stripe_error", `Stripe answered: ${err.message}`);
  }
  throw err;
}

/**
 * Charges the customer's default Stripe payment method now. Counts as a payment attempt (same idempotency rules as
 * auto-pay) but does not move the auto-pay retry schedule. A decline is `402 payment_failed`, recorded on the invoice.
 */
export async function payInvoice({ env, caller, now }: ServiceContext, invoiceId: string): Promise<InvoiceView> {
  await payableInvoice(env, caller, invoiceId);
  const access = await requireStripe(env, caller);
  const outcome = await chargeInvoice(env, caller, invoiceId, "manual", now, access).catch(stripeFailure);
  switch (outcome.kind) {
    case "succeeded":
      return getInvoice(env, caller, invoiceId);
    case "failed":
      throw new ApiError("payment_failed", `The charge failed: ${outcome.error.message}`, {
        errors: [{ code: outcome.error.decline_code ? `${outcome.error.code}:${outcome.error.decline_code}` : outcome.error.code, message: outcome.error.message }],
      });
    case "pending":
      throw new ApiError("stripe_error", "Stripe did not answer; the charge will be reconciled by the next billing run (it is never made twice)");
    case "skipped":
      if (outcome.reason === "in_progress") throw new ApiError("payment_in_progress", "A charge of this invoice is already in progress");
      await payableInvoice(env, caller, invoiceId);
      throw new ApiError("payment_in_progress", "This invoice cannot be charged right now");
  }
}

const LINK_LIFETIME_SECONDS = 23 * 3600;

export interface PaymentLinkOptions {
  successUrl?: string | undefined;
  cancelUrl?: string | undefined;
  /** The API's origin, for the default return URLs (the customer-facing hosted invoice page). */
  origin?: string | undefined;
}

/**
 * A Stripe Checkout Session (payment mode) for the invoice's amount due that also saves the card for off-session use
 * (setup_future_usage), so later invoices can be auto-paid. The checkout.session.completed webhook marks it paid.
 */
export async function createPaymentLink({ env, caller, now }: ServiceContext, invoiceId: string, options: PaymentLinkOptions = {}) {
  const inv = await payableInvoice(env, caller, invoiceId);
  const { client } = await requireStripe(env, caller);
  const origin = options.origin ?? "https://meterline.invalid";
  // NOTE: the person paying is the customer, who cannot open the dashboard: Checkout returns them to the invoice's
  // hosted page (the dashboard's page only when no link can be signed, e.g. without ENCRYPTION_KEY).
  // payableInvoice only answers finalized invoices, which have a hosted page.
  const hosted = (await hostedLinks(env, caller, origin, { id: inv.id, status: "finalized" })).hosted_invoice_url ?? `${origin}/dashboard/invoices/${inv.id}`;
  const amount = minorUnitAmount(inv.amount_due ?? "0", inv.currency);
  if (amount === null) {
    throw new ApiError("amount_too_large", `${inv.currency} ${inv.amount_due} is more than a payment provider can charge in one payment`);
  }
  const metadata = { meterline_invoice_id: inv.id, meterline_account_id: caller.accountId, meterline_mode: caller.mode };
  const session = await (async () => {
    const customer = await ensureStripeCustomer(env, client, caller, inv.customer_id);
    return client.checkout.sessions.create({
      mode: "payment",
      customer,
      client_reference_id: inv.id,
      line_items: [
        {
          price_data: { currency: inv.currency.toLowerCase(), unit_amount: amount, product_data: { name: inv.number !== null ? `Invoice ${inv.number}` : "Invoice" } },
          quantity: 1,
        },
      ],
      payment_intent_data: { setup_future_usage: "off_session", metadata },
      metadata,
      // Stripe allows at most 24 h; 23 h leaves room for clock skew between us and Stripe.
      expires_at: Math.floor(now / 1000) + LINK_LIFETIME_SECONDS,
      success_url: options.successUrl ?? `${hosted}?payment=success`,
      cancel_url: options.cancelUrl ?? hosted,
    });
  })().catch(stripeFailure);
  return {
    object: "payment_link" as const,
    invoice_id: inv.id,
    url: session.url ?? "",
    checkout_session_id: session.id,
    expires_at: formatTimestamp(session.expires_at * 1000),
    livemode: caller.mode === "live",
  };
}
