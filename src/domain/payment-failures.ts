// A failed charge in words a finance person acts on (issue 21): what Stripe's code and decline code mean, and what to
// do next. Pure: the dashboard's invoice page says it; the codes are Stripe's (docs.stripe.com/declines/codes).

export interface ChargeFailure {
  code: string;
  decline_code: string | null;
  message: string;
}

/** Decline codes whose meaning a customer can act on, in plain words. */
const DECLINES: Record<string, string> = {
  insufficient_funds: "the card has insufficient funds",
  expired_card: "the card has expired",
  incorrect_cvc: "the card's security code was wrong",
  lost_card: "the card was reported lost",
  stolen_card: "the card was reported stolen",
  card_velocity_exceeded: "the card's spending limit was reached",
  do_not_honor: "the bank declined without giving a reason",
  generic_decline: "the bank declined without giving a reason",
  fraudulent: "the bank suspected fraud",
  authentication_required: "the bank asks the customer to authenticate the payment",
  processing_error: "the card could not be processed (a temporary error)",
};

/**
 * The failure as a sentence, and what the user can do about it.
 * @example
 * failureInWords({ code: "card_declined", decline_code: "insufficient_funds", message: "Your card has insufficient funds." })
 * // { what: "The card was declined: the card has insufficient funds.", remedy: "Send the customer a payment link …" }
 */
export function failureInWords(f: ChargeFailure): { what: string; remedy: string } {
  const link = "Send the customer a payment link so they can pay with another card (it also saves that card for auto-pay)";
  if (f.code === "payment_method_missing") {
    return { what: "No card is saved for this customer, so there was nothing to charge.", remedy: `${link}.` };
  }
  if (f.code === "expired_card" || f.decline_code === "expired_card") {
    return { what: "The card was declined: the card has expired.", remedy: `${link}.` };
  }
  if (f.code === "card_declined" || f.decline_code) {
    const why = (f.decline_code && DECLINES[f.decline_code]) ?? null;
    const what = why ? `The card was declined: ${why}.` : `The card was declined (${f.decline_code ?? f.code}): ${f.message}`;
    const temporary = f.decline_code === "processing_error" || f.decline_code === "insufficient_funds";
    return { what, remedy: temporary ? `Charge again later, or ${link[0]!.toLowerCase()}${link.slice(1)}.` : `${link}.` };
  }
  return { what: `The charge failed (${f.code}): ${f.message}`, remedy: `Charge again, or ${link[0]!.toLowerCase()}${link.slice(1)}.` };
}
