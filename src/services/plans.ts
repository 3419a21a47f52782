// Plans and their prices: create, read, list, edit (in place or as a new version) and archive (SPEC §6).
import { and, asc, desc, eq, getTableColumns, isNull, sql, type SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { z } from "@hono/zod-openapi";
import { chunks } from "../db/chunks";
import type { Database } from "../db/client";
import { isUniqueViolation } from "../db/errors";
import { pageOf, pageQuery } from "../db/pagination";
import { contracts, plans, prices } from "../db/schema";
import { normalizeCurrency } from "../domain/currency";
import { formatNullableTimestamp, formatTimestamp } from "../domain/time";
import type { Caller } from "../env";
import { ApiError, notFound } from "../errors";
import type { CreatePlanBody, ListPlansQuery, PriceInputValue, PriceValue, UpdatePlanBody } from "../schemas/plans";
import type { ServiceContext } from "./context";
import { metersByCode } from "./meters";

export type PlanRow = typeof plans.$inferSelect;
export type PriceRow = typeof prices.$inferSelect;
/** A price as stored in `prices.spec`: the wire form without its id. */
export type PriceSpec = DistributiveOmit<PriceValue, "id">;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface PlanWithPrices {
  plan: PlanRow;
  prices: PriceRow[];
}

/**
 * D1 allows 100 bound parameters per statement; IN lists are chunked below that.
 * NOTE: 100 prices on 100 different meters is the worst case, so this is reachable.
 */
const IN_CHUNK = 90;

export function serializePrice(row: PriceRow): PriceValue {
  return { id: row.id, ...(row.spec as PriceSpec) } as PriceValue;
}

export function serializePlan({ plan, prices: priceRows }: PlanWithPrices) {
  return {
    id: plan.id,
    family_id: plan.familyId,
    version: plan.version,
    name: plan.name,
    description: plan.description,
    currency: plan.currency,
    billing_interval: plan.billingInterval,
    net_terms_days: plan.netTermsDays,
    auto_pay: plan.autoPay,
    grace_period_hours: plan.gracePeriodHours,
    prices: priceRows.map(serializePrice),
    minimum_spend: plan.minimumSpend,
    invoice_threshold: plan.invoiceThreshold,
    superseded_by: plan.supersededBy,
    archived_at: formatNullableTimestamp(plan.archivedAt),
    livemode: plan.mode === "live",
    created_at: formatTimestamp(plan.createdAt),
    updated_at: formatTimestamp(plan.updatedAt),
  };
}

function requireCurrency(input: string): string {
  const code = normalizeCurrency(input);
  if (code === null) {
    throw new ApiError("currency_unsupported", `${JSON.stringify(input)} is not a supported ISO 4217 currency code`, { param: "currency" });
  }
  return code;
}

/**
 * Resolves meter codes (one query for the whole list) and checks the rules that need the meter, then returns
 * each price in its stored form. Two prices may bill the same meter (e.g. a per-unit rate plus a separate
 * minimum, or two models side by side): that is allowed on purpose.
 */
async function priceSpecs(db: Database, caller: Caller, inputs: PriceInputValue[]): Promise<PriceSpec[]> {
  const codes = [...new Set(inputs.flatMap((p) => (p.type === "usage" ? [p.meter_code] : [])))];
  const meters = await metersByCode(db, caller, codes);
  return inputs.map((input, i): PriceSpec => {
    if (input.type === "fixed") return { type: "fixed", name: input.name, amount: input.amount };
    const meter = meters.get(input.meter_code);
    if (!meter) {
      throw new ApiError("meter_not_found", `No meter with code ${input.meter_code}`, { param: `prices[${i}].meter_code` });
    }
    const head = { type: "usage" as const, name: input.name ?? meter.displayName, meter_code: meter.code, meter_id: meter.id };
    const limits = {
      included_units: input.included_units ?? null,
      minimum_amount: input.minimum_amount ?? null,
      maximum_amount: input.maximum_amount ?? null,
    };
    switch (input.model) {
      case "per_unit":
        return { ...head, model: "per_unit", unit_price: input.unit_price, ...limits };
      case "graduated":
      case "volume":
        return {
          ...head,
          model: input.model,
          tiers: input.tiers.map((t) => ({ up_to: t.up_to ?? null, unit_price: t.unit_price, flat_price: t.flat_price ?? null })),
          ...limits,
        };
      case "package":
        return { ...head, model: "package", package_size: input.package_size, package_price: input.package_price, ...limits };
      case "percentage":
        // NOTE: a percentage applies to an amount (revenue share), which only a sum meter yields.
        if (meter.aggregation !== "sum") {
          throw new ApiError(
            "parameter_invalid",
            `percentage prices need a sum meter; ${meter.code} aggregates with ${meter.aggregation}`,
            { param: `prices[${i}].meter_code` },
          );
        }
        return { ...head, model: "percentage", percent: input.percent, fixed_fee_per_event: input.fixed_fee_per_event ?? null, ...limits };
      case "dimensional":
        if (!meter.groupBy.includes(input.dimension)) {
          const allowed = meter.groupBy.length > 0 ? `one of ${meter.groupBy.join(", ")}` : "in group_by, and it has none";
          throw new ApiError(
            "parameter_invalid",
            `dimension must be a group_by property of meter ${meter.code} (${allowed})`,
            { param: `prices[${i}].dimension` },
          );
        }
        return { ...head, model: "dimensional", dimension: input.dimension, rates: input.rates, default_rate: input.default_rate ?? null, ...limits };
    }
  });
}

function priceRows(caller: Caller, planId: string, specs: PriceSpec[], now: number): PriceRow[] {
  return specs.map((spec, position) => ({
    id: crypto.randomUUID(),
    planId,
    accountId: caller.accountId,
    mode: caller.mode,
    position,
    type: spec.type,
    meterId: spec.type === "usage" ? spec.meter_id : null,
    spec: spec as Record<string, unknown>,
    createdAt: now,
  }));
}

export async function createPlan({ db, caller, now }: ServiceContext, input: z.output<typeof CreatePlanBody>): Promise<PlanWithPrices> {
  const currency = requireCurrency(input.currency);
  const specs = await priceSpecs(db, caller, input.prices);
  const id = crypto.randomUUID();
  const plan: PlanRow = {
    id,
    accountId: caller.accountId,
    mode: caller.mode,
    familyId: id,
    version: 1,
    name: input.name,
    description: input.description ?? null,
    currency,
    billingInterval: input.billing_interval,
    netTermsDays: input.net_terms_days,
    autoPay: input.auto_pay,
    gracePeriodHours: input.grace_period_hours,
    minimumSpend: input.minimum_spend ?? null,
    invoiceThreshold: input.invoice_threshold ?? null,
    supersededBy: null,
    archivedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  const rows = priceRows(caller, id, specs, now);
  await db.batch([db.insert(plans).values(plan), ...rows.map((r) => db.insert(prices).values(r))]);
  return { plan, prices: rows };
}

async function pricesOf(db: Database, caller: Caller, planIds: string[]): Promise<Map<string, PriceRow[]>> {
  const byPlan = new Map<string, PriceRow[]>(planIds.map((id) => [id, []]));
  for (const chunk of chunks(planIds, IN_CHUNK)) {
    const rows = await db
      .select()
      .from(prices)
      .where(and(eq(prices.accountId, caller.accountId), eq(prices.mode, caller.mode), sql`${prices.planId} IN ${chunk}`))
      .orderBy(asc(prices.planId), asc(prices.position));
    for (const row of rows) byPlan.get(row.planId)?.push(row);
  }
  return byPlan;
}

/** One plan version with its prices, in the caller's account and mode. */
export async function getPlan(db: Database, caller: Caller, id: string, param = "id"): Promise<PlanWithPrices> {
  const [plan] = await db
    .select()
    .from(plans)
    .where(and(eq(plans.accountId, caller.accountId), eq(plans.mode, caller.mode), eq(plans.id, id)))
    .limit(1);
  if (!plan) throw notFound("plan", param);
  const byPlan = await pricesOf(db, caller, [plan.id]);
  return { plan, prices: byPlan.get(plan.id) ?? [] };
}

export async function listPlans(db: Database, caller: Caller, query: z.output<typeof ListPlansQuery>) {
  const page = pageQuery(plans, query.cursor, query.limit);
  const rows = await db
    .select()
    .from(plans)
    .where(
      and(
        eq(plans.accountId, caller.accountId),
        eq(plans.mode, caller.mode),
        query.include_superseded === "true" ? undefined : isNull(plans.supersededBy),
        query.include_archived === "true" ? undefined : isNull(plans.archivedAt),
        page.where,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  const byPlan = await pricesOf(db, caller, rows.slice(0, page.size).map((r) => r.id));
  return pageOf(rows, page.size, (plan) => serializePlan({ plan, prices: byPlan.get(plan.id) ?? [] }));
}

async function currentVersionId(db: Database, plan: PlanRow): Promise<string> {
  const [row] = await db
    .select({ id: plans.id })
    .from(plans)
    .where(and(eq(plans.accountId, plan.accountId), eq(plans.mode, plan.mode), eq(plans.familyId, plan.familyId), isNull(plans.supersededBy)))
    .orderBy(desc(plans.version))
    .limit(1);
  return row?.id ?? plan.id;
}

/** Archived and superseded versions are read-only. */
async function assertEditable(db: Database, plan: PlanRow): Promise<void> {
  if (plan.archivedAt !== null) throw new ApiError("plan_archived", "This plan is archived and cannot be changed", { param: "id" });
  if (plan.supersededBy !== null) {
    const current = await currentVersionId(db, plan);
    throw new ApiError(
      "plan_superseded",
      `This plan version (version ${plan.version}) was superseded; edit the current version ${current} instead`,
      { param: "id" },
    );
  }
}

export async function hasContracts(db: Database, caller: Caller, planId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: contracts.id })
    .from(contracts)
    .where(and(eq(contracts.accountId, caller.accountId), eq(contracts.mode, caller.mode), eq(contracts.planId, planId)))
    .limit(1);
  return row !== undefined;
}

/** Key-order-independent JSON, so an unchanged price list is recognised as unchanged. */
function canonical(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === "object"
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]))
        : v;
  return JSON.stringify(sort(value));
}

/**
 * Guarded INSERT for batches: `INSERT INTO t (...) SELECT <row> WHERE guard`, so the row is written only if the
 * guard holds when the statement runs inside the batch's transaction. Values go through each column's driver
 * mapping (JSON, booleans) exactly as a plain insert would.
 */
function insertIf<T extends SQLiteTable>(db: Database, table: T, row: T["$inferInsert"], guard: SQL) {
  const values = Object.entries(getTableColumns(table)).map(([key, column]) =>
    sql.param((row as Record<string, unknown>)[key] ?? null, column),
  );
  return db.insert(table).select(sql`SELECT ${sql.join(values, sql`, `)} WHERE ${guard}`);
}

/** An edit as updatePlan decides it (planEditOutcome, plan-edit-outcome.ts, asks the same): new terms, label, prices, what differs. */
export async function decideEdit(db: Database, caller: Caller, id: string, input: z.output<typeof UpdatePlanBody>) {
  const current = await getPlan(db, caller, id);
  const { plan } = current;
  await assertEditable(db, plan);

  const terms = {
    currency: input.currency !== undefined ? requireCurrency(input.currency) : plan.currency,
    billingInterval: input.billing_interval ?? plan.billingInterval,
    netTermsDays: input.net_terms_days ?? plan.netTermsDays,
    autoPay: input.auto_pay ?? plan.autoPay,
    gracePeriodHours: input.grace_period_hours ?? plan.gracePeriodHours,
    // NOTE: the minimum commitment is billed like a price, so it versions like one (null removes it).
    minimumSpend: input.minimum_spend !== undefined ? input.minimum_spend : plan.minimumSpend,
    invoiceThreshold: input.invoice_threshold !== undefined ? input.invoice_threshold : plan.invoiceThreshold,
  };
  const label = { name: input.name ?? plan.name, description: input.description !== undefined ? input.description : plan.description };
  const newSpecs = input.prices ? await priceSpecs(db, caller, input.prices) : null;

  const changedTerms = (Object.keys(terms) as (keyof typeof terms)[]).filter((k) => terms[k] !== plan[k]);
  const pricesChanged = newSpecs !== null && canonical(newSpecs) !== canonical(current.prices.map((p) => p.spec));
  const labelChanged = label.name !== plan.name || label.description !== plan.description;
  return { current, terms, label, newSpecs, changedTerms, termsChanged: changedTerms.length > 0, pricesChanged, labelChanged };
}

/** The number a new version of this plan's family gets: one past the highest, archived or superseded included. */
export async function nextVersion(db: Database, caller: Caller, plan: PlanRow): Promise<number> {
  const [max] = await db
    .select({ version: sql<number>`max(${plans.version})` })
    .from(plans)
    .where(and(eq(plans.accountId, caller.accountId), eq(plans.mode, caller.mode), eq(plans.familyId, plan.familyId)));
  return (max?.version ?? plan.version) + 1;
}

/**
 * PATCH: name/description always change in place. Any other change (terms, currency, prices) changes the
 * version in place only while no contract uses it; otherwise a new version is written and the old one points
 * to it through superseded_by, so existing contracts keep billing exactly what they signed up for.
 * Fields sent with their current value are no change (same prices sent back do not make a version).
 */
export async function updatePlan(ctx: ServiceContext, id: string, input: z.output<typeof UpdatePlanBody>, attempt = 0): Promise<PlanWithPrices> {
  const { db, caller, now } = ctx;
  const { current, terms, label, newSpecs, termsChanged, pricesChanged, labelChanged } = await decideEdit(db, caller, id, input);
  const { plan } = current;
  if (!termsChanged && !pricesChanged && !labelChanged) return current;

  // NOTE: every write below re-checks its precondition inside the batch (one transaction), so a contract,
  // archive or other edit that lands between our reads and our write is never overwritten; we re-plan instead.
  const retry = () => {
    if (attempt >= 2) throw new ApiError("plan_superseded", "The plan changed while it was being edited; retry the request", { param: "id" });
    return updatePlan(ctx, id, input, attempt + 1);
  };
  const stillCurrent = sql`EXISTS (SELECT 1 FROM plans WHERE id = ${plan.id} AND archived_at IS NULL AND superseded_by IS NULL)`;

  if (!termsChanged && !pricesChanged) {
    const updated = await db
      .update(plans)
      .set({ ...label, updatedAt: now })
      .where(and(eq(plans.id, plan.id), isNull(plans.archivedAt), isNull(plans.supersededBy)))
      .returning();
    if (updated.length === 0) return retry();
    return { plan: updated[0]!, prices: current.prices };
  }

  if (!(await hasContracts(db, caller, plan.id))) {
    const guard = sql`${stillCurrent} AND NOT EXISTS (SELECT 1 FROM contracts WHERE plan_id = ${plan.id})`;
    const rows = pricesChanged ? priceRows(caller, plan.id, newSpecs!, now) : [];
    const [updated] = await db.batch([
      db
        .update(plans)
        .set({ ...label, ...terms, updatedAt: now })
        .where(and(eq(plans.id, plan.id), guard))
        .returning(),
      ...(pricesChanged
        ? [db.delete(prices).where(and(eq(prices.planId, plan.id), guard)), ...rows.map((r) => insertIf(db, prices, r, guard))]
        : []),
    ]);
    if (updated.length === 0) return retry();
    return { plan: updated[0]!, prices: pricesChanged ? rows : current.prices };
  }

  // A new version: old row first, so the inserts can require that it now points at the new version.
  const next: PlanRow = {
    ...plan,
    ...label,
    ...terms,
    id: crypto.randomUUID(),
    version: await nextVersion(db, caller, plan),
    supersededBy: null,
    archivedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  const specs = newSpecs ?? current.prices.map((p) => p.spec as PriceSpec);
  const rows = priceRows(caller, next.id, specs, now);
  const pointsToNext = sql`EXISTS (SELECT 1 FROM plans WHERE id = ${plan.id} AND superseded_by = ${next.id})`;
  try {
    const [superseded] = await db.batch([
      db
        .update(plans)
        .set({ supersededBy: next.id, updatedAt: now })
        .where(and(eq(plans.id, plan.id), isNull(plans.archivedAt), isNull(plans.supersededBy)))
        .returning({ id: plans.id }),
      insertIf(db, plans, next, pointsToNext),
      ...rows.map((r) => insertIf(db, prices, r, pointsToNext)),
    ]);
    if (superseded.length === 0) return retry();
  } catch (err) {
    if (isUniqueViolation(err)) return retry();
    throw err;
  }
  return { plan: next, prices: rows };
}

/**
 * Archiving applies to the whole plan (every version): no new contract may use any of them, while contracts
 * already on it keep billing. The version asked for is returned.
 */
export async function archivePlan({ db, caller, now }: ServiceContext, id: string): Promise<PlanWithPrices> {
  const current = await getPlan(db, caller, id);
  if (current.plan.archivedAt !== null) throw new ApiError("plan_archived", "This plan is already archived", { param: "id" });
  await db
    .update(plans)
    .set({ archivedAt: now, updatedAt: now })
    .where(
      and(eq(plans.accountId, caller.accountId), eq(plans.mode, caller.mode), eq(plans.familyId, current.plan.familyId), isNull(plans.archivedAt)),
    );
  return getPlan(db, caller, id);
}
