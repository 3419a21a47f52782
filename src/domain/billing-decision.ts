// Why an event is billed or not (SPEC §8), in the order of the seeds' "event not appearing on invoice" checklist:
// a contract covering its timestamp, a priced meter listening to it, the contract not paused then, an open period, a
// usable value.
import { pauseAt, type Pause } from "./contracts";
import { contributionOf, matchesFilters, type MeterDefinition, type Properties } from "./events";

export type UnbilledReason = "no_active_contract" | "no_matching_meter" | "contract_paused" | "outside_open_period" | "property_missing";

/** What the decision needs of a contract: its coverage. */
export interface CoveringContract {
  id: string;
  startDate: number;
  /** When coverage stops; null = open-ended. */
  coverageEnd: number | null;
  /** Pauses (SPEC §17): events in one are stored and not billed. */
  pauses?: readonly Pause[];
}

/** The invoice of the contract period an event falls in, as far as the decision cares. */
export interface PeriodInvoice {
  id: string;
  status: "draft" | "finalized" | "paid" | "void";
}

export interface BillingDecision {
  status: "billed" | "unbilled";
  reason: UnbilledReason | null;
  invoiceId: string | null;
  /** The meters that bill it (or would, for property_missing and outside_open_period). */
  meters: string[];
  /** Each billing meter with the value the event adds to it. */
  counted: Array<{ meter: MeterDefinition; value: string }>;
}

export interface DecisionEvent {
  eventName: string;
  timestamp: number;
  properties: Properties;
}

/** What the caller looks up for the decision (the ledger caches both per ingest call). */
export interface DecisionLookups<C extends CoveringContract> {
  /** The meter codes the contract's usage prices name. */
  pricedMeterCodes(contract: C): ReadonlySet<string>;
  /** The invoice of the contract period containing `ts`: an open draft (opened if need be), a closed one, or none. */
  invoiceAt(contract: C, ts: number): PeriodInvoice | null;
}

/** The contract covering an instant: at most one does (one active contract per instant, SPEC §7). */
export function contractCovering<C extends CoveringContract>(contracts: readonly C[], ts: number): C | undefined {
  return contracts.find((c) => c.startDate <= ts && (c.coverageEnd === null || ts < c.coverageEnd));
}

/**
 * @example
 * decideBilling({ eventName: "api_call", timestamp, properties: {} }, [], meters, lookups)
 * // { status: "unbilled", reason: "no_active_contract", invoiceId: null, meters: [], counted: [] }
 */
export function decideBilling<C extends CoveringContract>(
  e: DecisionEvent,
  contracts: readonly C[],
  meters: readonly MeterDefinition[],
  lookups: DecisionLookups<C>,
): BillingDecision {
  const unbilled = (reason: UnbilledReason, invoiceId: string | null = null, codes: string[] = []): BillingDecision => ({
    status: "unbilled",
    reason,
    invoiceId,
    meters: codes,
    counted: [],
  });
  const contract = contractCovering(contracts, e.timestamp);
  if (!contract) return unbilled("no_active_contract");
  const priced = lookups.pricedMeterCodes(contract);
  const listening = meters.filter((m) => m.eventName === e.eventName && priced.has(m.code) && matchesFilters(m.filters, e.properties));
  if (listening.length === 0) return unbilled("no_matching_meter");
  const invoice = lookups.invoiceAt(contract, e.timestamp);
  const codes = listening.map((m) => m.code);
  // NOTE: a pause wins over a closed period: the event would not bill even if the period were open.
  if (contract.pauses && pauseAt(contract.pauses, e.timestamp)) return unbilled("contract_paused", invoice?.id ?? null, codes);
  // NOTE: a period whose invoice is finalized (or earlier than one that is) takes no more events.
  if (!invoice || invoice.status !== "draft") return unbilled("outside_open_period", invoice?.id ?? null, codes);
  const counted: BillingDecision["counted"] = [];
  for (const meter of listening) {
    const c = contributionOf(meter, e.properties);
    if ("value" in c) counted.push({ meter, value: c.value });
  }
  if (counted.length === 0) return unbilled("property_missing", invoice.id, codes);
  return { status: "billed", reason: null, invoiceId: invoice.id, meters: counted.map((c) => c.meter.code), counted };
}
