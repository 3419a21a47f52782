// The outgoing webhook event types of SPEC §12 (and those of §15, §16 and §18) and the envelope every delivery carries.

export const WEBHOOK_EVENT_TYPES = [
  "customer.created",
  "customer.updated",
  "contract.created",
  "contract.updated",
  "contract.cancelled",
  "contract.ended",
  "contract.plan_changed",
  "contract.paused",
  "contract.resumed",
  "invoice.created",
  "invoice.finalized",
  "invoice.paid",
  "invoice.payment_failed",
  "invoice.voided",
  "event.rejected",
  "credit_grant.created",
  "credit_grant.activated",
  "credit_grant.depleted",
  "credit_grant.expired",
  "credit_grant.voided",
  "credit_top_up.triggered",
  "credit_note.created",
  "alert.triggered",
  "alert.resolved",
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** One event to record: `object` is the API representation of the thing that changed, as of the change. */
export interface OutgoingEvent {
  /** Given only when the event must be recorded at most once across retries of the same change. */
  id?: string;
  type: WebhookEventType;
  object: unknown;
}

/** The JSON body of a delivery, like Stripe's and Svix's: `{ id, type, created_at, livemode, data: { object } }`. */
export interface WebhookEnvelope {
  id: string;
  type: WebhookEventType;
  created_at: string;
  livemode: boolean;
  data: { object: unknown };
}
