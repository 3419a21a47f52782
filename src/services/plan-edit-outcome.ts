// What saving a plan edit would do (in place or a new version), decided by updatePlan's own code, without writing.
import type { z } from "@hono/zod-openapi";
import type { Database } from "../db/client";
import type { Caller } from "../env";
import type { UpdatePlanBody } from "../schemas/plans";
import { decideEdit, hasContracts, nextVersion, type PriceSpec } from "./plans";

export type PlanEditOutcome =
  | { kind: "unchanged" }
  | { kind: "in_place"; changed: string[]; prices: PriceSpec[] | null }
  | { kind: "new_version"; changed: string[]; prices: PriceSpec[] | null; version: number };

/** The stored terms by the name the API gives them. */
const TERM_PARAMS: Record<string, string> = {
  currency: "currency",
  billingInterval: "billing_interval",
  netTermsDays: "net_terms_days",
  autoPay: "auto_pay",
  gracePeriodHours: "grace_period_hours",
  minimumSpend: "minimum_spend",
  invoiceThreshold: "invoice_threshold",
};

/**
 * What updatePlan would do with this input right now, decided by the same code and refusing what it refuses (an
 * unknown meter or currency, an archived or superseded version): the dashboard's confirmation page says it before
 * anything is saved. `changed` names the plan's fields as the API does; `prices` is the new price list when it changes.
 * NOTE: a contract started between this answer and the save turns an in-place edit into a new version; updatePlan
 * re-checks inside its write, so that contract still keeps the terms it signed up for.
 */
export async function planEditOutcome(db: Database, caller: Caller, id: string, input: z.output<typeof UpdatePlanBody>): Promise<PlanEditOutcome> {
  const edit = await decideEdit(db, caller, id, input);
  const { plan } = edit.current;
  const changed = [
    ...(edit.label.name !== plan.name ? ["name"] : []),
    ...(edit.label.description !== plan.description ? ["description"] : []),
    ...edit.changedTerms.map((k) => TERM_PARAMS[k]!),
    ...(edit.pricesChanged ? ["prices"] : []),
  ];
  if (changed.length === 0) return { kind: "unchanged" };
  const prices = edit.pricesChanged ? edit.newSpecs : null;
  // As in updatePlan: a name or description never makes a version; other changes do once a contract uses this one.
  if ((!edit.termsChanged && !edit.pricesChanged) || !(await hasContracts(db, caller, plan.id))) return { kind: "in_place", changed, prices };
  return { kind: "new_version", changed, prices, version: await nextVersion(db, caller, plan) };
}
