// The one API error type: a stable machine code, its HTTP status and error type (SPEC §2).

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found"
  | "conflict"
  | "rate_limit_error"
  | "api_error";

/** Every code the API can answer with, and the status it maps to. Codes are a public contract: never rename. */
export const ERROR_CODES = {
  // 400: the request itself is wrong
  invalid_json: 400,
  parameter_missing: 400,
  parameter_invalid: 400,
  parameter_unknown: 400,
  invalid_cursor: 400,
  credit_note_amount_exceeded: 400,
  currency_unsupported: 400,
  timestamp_too_far_in_future: 400,
  stripe_key_mode_mismatch: 400,
  webhook_signature_invalid: 400,
  // 422: a valid request for an amount the payment provider cannot take
  amount_too_large: 422,
  // 402
  payment_failed: 402,
  body_too_large: 413,
  // 401
  authentication_required: 401,
  invalid_api_key: 401,
  // 403
  livemode_required: 403,
  testmode_required: 403,
  // 404
  route_not_found: 404,
  customer_not_found: 404,
  meter_not_found: 404,
  plan_not_found: 404,
  contract_not_found: 404,
  api_key_not_found: 404,
  invoice_not_found: 404,
  event_not_found: 404,
  webhook_endpoint_not_found: 404,
  webhook_delivery_not_found: 404,
  billing_run_not_found: 404,
  credit_grant_not_found: 404,
  credit_top_up_not_found: 404,
  credit_note_not_found: 404,
  alert_not_found: 404,
  // 405
  method_not_allowed: 405,
  // 409
  idempotency_key_reused: 409,
  idempotency_key_in_use: 409,
  customer_external_id_taken: 409,
  customer_archived: 409,
  customer_moved: 409,
  meter_code_taken: 409,
  plan_archived: 409,
  plan_superseded: 409,
  contract_overlap: 409,
  contract_not_cancellable: 409,
  contract_not_changeable: 409,
  ledger_sharded: 409,
  contract_changed: 409,
  contract_paused: 409,
  contract_already_paused: 409,
  contract_not_paused: 409,
  invoice_not_draft: 409,
  invoice_finalized: 409,
  invoice_not_void: 409,
  invoice_not_regenerable: 409,
  invoice_already_regenerated: 409,
  invoice_not_voidable: 409,
  invoice_has_credit_notes: 409,
  invoice_not_finalized: 409,
  invoice_already_paid: 409,
  payment_in_progress: 409,
  stripe_not_configured: 409,
  stripe_settings_unreadable: 409,
  webhook_endpoint_disabled: 409,
  credit_grant_not_voidable: 409,
  credit_grant_not_adjustable: 409,
  credit_balance_insufficient: 409,
  refund_unavailable: 409,
  refund_failed: 409,
  // 5xx
  internal_error: 500,
  stripe_error: 502,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetail {
  param?: string;
  code: string;
  message: string;
  index?: number;
}

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly param: string | undefined;
  /** Extra per-item errors, e.g. every bad field of a body or every bad event of a batch. */
  readonly errors: ErrorDetail[] | undefined;

  constructor(code: ErrorCode, message: string, options: { param?: string; errors?: ErrorDetail[] } = {}) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = ERROR_CODES[code];
    this.param = options.param;
    this.errors = options.errors;
  }

  get type(): ErrorType {
    return errorTypeForStatus(this.status);
  }
}

export function errorTypeForStatus(status: number): ErrorType {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found";
  if (status === 409) return "conflict";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

/** A referenced resource that does not exist in the caller's account and mode. */
export function notFound(
  resource: "customer" | "meter" | "plan" | "contract" | "api_key" | "invoice" | "event" | "credit_grant",
  param?: string,
): ApiError {
  const label = resource === "api_key" ? "API key" : resource === "credit_grant" ? "Credit grant" : resource[0]!.toUpperCase() + resource.slice(1);
  return new ApiError(`${resource}_not_found`, `${label} not found`, param ? { param } : {});
}
