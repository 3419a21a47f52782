// What a contract's pages share (SPEC §17): plan labels, which actions apply, UTC date-time fields, and the detail page's
// overrides, pauses and previous/next sections.
import { and, eq, inArray, isNull } from "drizzle-orm";
import type { FC } from "hono/jsx";
import type { Database } from "../../db/client";
import { plans } from "../../db/schema";
import { withOverrides, type ContractPriceOverride } from "../../domain/pricing/overrides";
import type { Caller } from "../../env";
import type { ContractView } from "../../services/contracts/views";
import type { PriceValue } from "../../schemas/plans";
import { dateTime, priceInWords, unitOf } from "../format";

export const contractPath = (id: string) => `/dashboard/contracts/${id}`;

export interface PlanInfo {
  id: string;
  familyId: string;
  name: string;
  version: number;
  currency: string;
  interval: "week" | "month" | "year";
}

const INTERVAL_WORDS = { week: "weekly", month: "monthly", year: "yearly" } as const;

const planColumns = {
  id: plans.id,
  familyId: plans.familyId,
  name: plans.name,
  version: plans.version,
  currency: plans.currency,
  interval: plans.billingInterval,
};

/** "Pro v2": the version always shows, since a history or a change is often between versions of one plan. */
export const planLabel = (p: PlanInfo | undefined, fallbackId = "") => (p ? `${p.name} v${p.version}` : fallbackId.slice(0, 8));

/** "Pro v2 · USD · monthly": enough to tell two plans of the same name apart in a picker. */
export const planLongLabel = (p: PlanInfo) => `${planLabel(p)} · ${p.currency} · ${INTERVAL_WORDS[p.interval]}`;

/** The caller's plans among `ids` (any version, archived or not), by id. */
export async function plansById(db: Database, caller: Caller, ids: string[]): Promise<Map<string, PlanInfo>> {
  const unique = [...new Set(ids)];
  const out = new Map<string, PlanInfo>();
  // D1 binds at most 100 parameters a statement.
  for (let i = 0; i < unique.length; i += 90) {
    const rows = await db
      .select(planColumns)
      .from(plans)
      .where(and(eq(plans.accountId, caller.accountId), eq(plans.mode, caller.mode), inArray(plans.id, unique.slice(i, i + 90))));
    for (const r of rows) out.set(r.id, r);
  }
  return out;
}

/** The plans a contract may change to: current, unarchived versions of the mode (as the service requires). */
export async function changeChoices(db: Database, caller: Caller): Promise<PlanInfo[]> {
  return db
    .select(planColumns)
    .from(plans)
    .where(and(eq(plans.accountId, caller.accountId), eq(plans.mode, caller.mode), isNull(plans.archivedAt), isNull(plans.supersededBy)))
    .orderBy(plans.name, plans.version)
    .limit(100);
}

/** The pause still open (no end yet), which may also start in the future: Resume ends it, Pause is refused meanwhile. */
export const openPause = (k: ContractView) => k.pauses.find((p) => p.end === null) ?? null;

/**
 * The actions the services would accept on this contract now. NOTE: a contract whose end is already a plan change
 * (next_contract_id) takes no change, pause or cancellation: those belong to the contract that follows it.
 */
export function offers(k: ContractView) {
  const running = k.status === "active" || k.status === "scheduled" || k.status === "paused";
  const open = running && k.next_contract_id === null;
  return {
    change: open && openPause(k) === null,
    pause: open && openPause(k) === null,
    resume: running && openPause(k) !== null,
    cancel: open,
  };
}

/**
 * A date-time as typed in a datetime-local field ("2026-03-15T10:30"), which carries no zone → the same wall time in
 * UTC, as RFC 3339. A value that already names a zone, a bare date, or anything else goes to the API's schema as typed.
 */
export function utcInput(raw: string): string {
  const text = raw.trim().replace(/^(\d{4}-\d{2}-\d{2})[ t](\d)/, "$1T$2");
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2}(\.\d+)?)?$/.exec(text);
  return m ? `${m[1]}${m[2] ?? ":00"}Z` : text;
}

/** The schema's message for a time it cannot read, in the words of a date-time field. */
export const TIME_HINT = "must be a date and time such as 2026-03-15 10:30 (UTC)";

/** Replaced contract X / Changed to plan P from <date>: the neighbours of a contract in its chain of plan changes. */
export const ChangeLinks: FC<{ k: ContractView; plans: Map<string, PlanInfo>; previous: ContractView | null; next: ContractView | null }> = ({
  k,
  plans: info,
  previous,
  next,
}) => (
  <>
    {previous ? (
      <>
        <dt>Replaced</dt>
        <dd data-testid="contract-previous">
          Replaced contract <a href={contractPath(previous.id)} class="mono">{previous.id.slice(0, 8)}</a> on {planLabel(info.get(previous.plan_id), previous.plan_id)}{" "}
          (plan change at {dateTime(k.start_date)}, {prorationWords(k.proration.start)})
        </dd>
      </>
    ) : null}
    {next ? (
      <>
        <dt>Changes to</dt>
        <dd data-testid="contract-next">
          Changed to plan {planLabel(info.get(next.plan_id), next.plan_id)} from {dateTime(next.start_date)}:{" "}
          <a href={contractPath(next.id)} class="mono">{next.id.slice(0, 8)}</a> ({prorationWords(k.proration.end)})
        </dd>
      </>
    ) : null}
  </>
);

export function prorationWords(p: "prorate" | "none" | null): string {
  return p === "prorate" ? "fixed fees prorated" : p === "none" ? "no proration" : "no plan change";
}

/** The prices this contract pays differently from its plan: the plan's terms beside the contract's. */
export const OverrideList: FC<{ k: ContractView; prices: PriceValue[]; currency: string; units: Map<string, string> }> = ({ k, prices, currency, units }) => {
  if (k.overrides.length === 0) return null;
  const overridden = withOverrides(prices, k.overrides as ContractPriceOverride[]);
  const unit = (p: PriceValue) => unitOf(p.type === "usage" ? (units.get(p.meter_code) ?? p.meter_code) : "");
  return (
    <>
      <h2>Price overrides</h2>
      <table data-testid="contract-overrides">
        <thead>
          <tr>
            <th>Price</th>
            <th>Overridden</th>
            <th>This contract pays</th>
            <th>The plan's price</th>
          </tr>
        </thead>
        <tbody>
          {k.overrides.map((o) => {
            const i = prices.findIndex((p) => p.id === o.price_id);
            const plan = prices[i];
            const fields = Object.keys(o).filter((f) => f !== "price_id" && (o as Record<string, unknown>)[f] !== undefined);
            return (
              <tr data-override={o.price_id}>
                <td>{plan ? plan.name : <span class="mono">{o.price_id.slice(0, 8)}</span>}</td>
                <td>{fields.map((f) => f.replace(/_/g, " ")).join(", ")}</td>
                <td>{plan ? priceInWords(overridden[i]!, currency, unit(plan)) : "—"}</td>
                <td class="muted">{plan ? priceInWords(plan, currency, unit(plan)) : "—"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
};

/** A contract's pauses: start → end, or "ongoing" while open (a pause may also be scheduled to start later). */
export const PauseList: FC<{ k: ContractView; now: number }> = ({ k, now }) =>
  k.pauses.length === 0 ? null : (
    <>
      <dt>Pauses</dt>
      <dd>
        <ul class="price-list" data-testid="contract-pauses" style="margin:0; padding-left:18px">
          {k.pauses.map((p) => (
            <li>
              {dateTime(p.start)} → {p.end ? dateTime(p.end) : Date.parse(p.start) > now ? "ongoing once it starts" : "ongoing"}
            </li>
          ))}
        </ul>
      </dd>
    </>
  );

/** The action buttons of a contract's page; each leads to a page that explains and asks before anything changes. */
export const ContractActions: FC<{ k: ContractView }> = ({ k }) => {
  const can = offers(k);
  if (!can.change && !can.pause && !can.resume && !can.cancel) return null;
  const base = contractPath(k.id);
  return (
    <div class="actions" data-testid="contract-actions">
      {can.change ? (
        <a class="button" href={`${base}/change`}>
          Change plan
        </a>
      ) : null}
      {can.pause ? (
        <a class="button secondary" href={`${base}/pause`}>
          Pause
        </a>
      ) : null}
      {can.resume ? (
        <a class="button" href={`${base}/resume`}>
          Resume
        </a>
      ) : null}
      {can.cancel ? (
        <>
          <a class="button secondary" href={`${base}/cancel?at=period_end`}>
            Cancel at period end
          </a>
          <a class="button danger" href={`${base}/cancel?at=now`}>
            Cancel now
          </a>
        </>
      ) : null}
    </div>
  );
};

/** "Contracts / <id> /" above a contract's action pages. */
export const ContractCrumbs: FC<{ k: ContractView }> = ({ k }) => (
  <p class="muted">
    <a href="/dashboard/contracts">Contracts</a> / <a href={contractPath(k.id)} class="mono">{k.id.slice(0, 8)}</a> /
  </p>
);
