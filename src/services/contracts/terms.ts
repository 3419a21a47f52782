// The terms a contract signs up for (SPEC §7, §17): its plan version, checked usable for a new contract, and its
// per-contract price overrides, validated exactly like the prices they override.
import { and, eq } from "drizzle-orm";
import type { z } from "@hono/zod-openapi";
import type { Database } from "../../db/client";
import { plans, prices } from "../../db/schema";
import { overridableFields, type ContractPriceOverride } from "../../domain/pricing/overrides";
import type { Caller } from "../../env";
import { ApiError, notFound, type ErrorCode, type ErrorDetail } from "../../errors";
import { detailsOf } from "../../http/validation";
import type { PriceOverrideInput } from "../../schemas/contracts";
import { PriceInput, type PriceValue } from "../../schemas/plans";
import { serializePrice } from "../plans";

export type PlanRow = typeof plans.$inferSelect;
type OverrideInput = z.output<typeof PriceOverrideInput>;

/** A plan version a new contract may use (not archived, not superseded), with its prices in order. */
export async function contractablePlan(db: Database, caller: Caller, planId: string, param: string): Promise<{ plan: PlanRow; prices: PriceValue[] }> {
  const [plan] = await db
    .select()
    .from(plans)
    .where(and(eq(plans.id, planId), eq(plans.accountId, caller.accountId), eq(plans.mode, caller.mode)));
  if (!plan) throw notFound("plan", param);
  if (plan.archivedAt !== null) throw new ApiError("plan_archived", "This plan is archived and takes no new contracts", { param });
  // NOTE: old versions keep serving the contracts they have; new contracts must use the current version, so a
  // plan id saved in a client's config cannot keep selling superseded prices unnoticed.
  if (plan.supersededBy !== null) {
    throw new ApiError("plan_superseded", `This plan version was superseded; use the current version ${plan.supersededBy}`, { param });
  }
  return { plan, prices: await pricesOfPlan(db, plan.id) };
}

export async function pricesOfPlan(db: Database, planId: string): Promise<PriceValue[]> {
  const rows = await db.select().from(prices).where(eq(prices.planId, planId)).orderBy(prices.position);
  return rows.map(serializePrice);
}

/**
 * The overrides as stored, after checking each one: it names a price of the plan (once), overrides only fields that
 * price has (OVERRIDABLE_FIELDS), and the price with the override laid over it passes the very validation a plan's
 * price does (tiers in order, minimum not above maximum, percent ≤ 100...). Errors name `overrides[i].<field>`.
 */
export function validateOverrides(planPrices: readonly PriceValue[], overrides: readonly OverrideInput[], param = "overrides"): ContractPriceOverride[] {
  const seen = new Set<string>();
  const invalid = (code: ErrorCode, at: string, message: string): ApiError => new ApiError(code, message, { param: at });
  return overrides.map((override, i) => {
    const at = `${param}[${i}]`;
    const price = planPrices.find((p) => p.id === override.price_id);
    if (!price) throw invalid("parameter_invalid", `${at}.price_id`, `${at}.price_id: the plan has no price ${override.price_id}`);
    if (seen.has(price.id)) throw invalid("parameter_invalid", `${at}.price_id`, `${at}.price_id: price ${price.id} is overridden twice`);
    seen.add(price.id);
    const { price_id, ...fields } = override;
    const allowed = overridableFields(price);
    const given = Object.entries(fields).filter(([, v]) => v !== undefined);
    const foreign = given.find(([key]) => !allowed.includes(key));
    if (foreign) {
      const kind = price.type === "fixed" ? "a fixed price" : `a ${price.model} price`;
      throw invalid("parameter_invalid", `${at}.${foreign[0]}`, `${at}.${foreign[0]}: ${kind} has no ${foreign[0]} to override (it takes ${allowed.join(", ")})`);
    }
    if (given.length === 0) throw invalid("parameter_missing", at, `${at}: give at least one of ${allowed.join(", ")} to override`);
    const { id: _, ...spec } = price as PriceValue & { meter_id?: string };
    delete (spec as { meter_id?: string }).meter_id;
    const merged = PriceInput.safeParse({ ...spec, ...Object.fromEntries(given) });
    if (!merged.success) {
      const errors: ErrorDetail[] = merged.error.issues.flatMap((issue) => detailsOf(issue as Parameters<typeof detailsOf>[0], { [param]: overrides }, [param, i]));
      const first = errors[0]!;
      throw new ApiError(first.code as ErrorCode, first.message, { param: first.param ?? at, errors });
    }
    const normalized = merged.data as Record<string, unknown>;
    return { price_id, ...Object.fromEntries(given.map(([key]) => [key, key === "tiers" ? storedTiers(normalized.tiers) : (normalized[key] ?? null)])) };
  });
}

/** Tiers as a plan stores them (services/plans.ts): every field present, null where absent. */
function storedTiers(tiers: unknown): unknown {
  return (tiers as Array<{ up_to?: string | null; unit_price: string; flat_price?: string | null }>).map((t) => ({
    up_to: t.up_to ?? null,
    unit_price: t.unit_price,
    flat_price: t.flat_price ?? null,
  }));
}

/**
 * A contract's overrides moved to a newer version of its plan: each to the price in the same place with the same
 * type, model and meter, validated again; null when one has nowhere to go (the caller then asks for overrides).
 */
export function carriedOverrides(
  from: readonly PriceValue[],
  to: readonly PriceValue[],
  overrides: readonly ContractPriceOverride[],
): ContractPriceOverride[] | null {
  const moved: ContractPriceOverride[] = [];
  for (const override of overrides) {
    const position = from.findIndex((p) => p.id === override.price_id);
    const before = from[position];
    const after = to[position];
    if (!before || !after || before.type !== after.type) return null;
    if (before.type === "usage" && (after.type !== "usage" || before.model !== after.model || before.meter_code !== after.meter_code)) return null;
    moved.push({ ...override, price_id: after.id });
  }
  return moved;
}
