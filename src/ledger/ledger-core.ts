// The ledger object's discipline (every mutation one transaction, then one after-commit step) and the calls a customer's
// ledger shards make to each other (ledger/shards.ts); CustomerLedger adds the operations on top.
import { DurableObject } from "cloudflare:workers";
import { database } from "../db/client";
import { shardsOf } from "../domain/ledger-shards";
import type { Env } from "../env";
import { afterCommit, armAlarm, type OutboxTiming } from "./after-commit";
import { evaluateAlerts, type FiredAlert } from "./alerts";
import { settleCredits } from "./credit-application";
import { invoiceRow, openPeriodsUpTo, repriceAll } from "./drafts";
import { invoiceThresholds } from "./progressive";
import { migrate } from "./schema";
import { storedKeys } from "./ingest";
import { closeInShards, reportToPrimary } from "./shard-calls";
import { applyPush, closePeriods, takePush, type PrimaryInvoice, type ShardPush } from "./shards";
import { adoptSnapshot, currentSnapshot, staleSnapshot, type LedgerIdentity, type LedgerSnapshot } from "./snapshot";
import { LedgerState } from "./state";
import { triggerTopUps } from "./top-ups";
import type { IngestOutcome, InvoiceView } from "./types";
import { invoiceView } from "./views";

export abstract class LedgerCore extends DurableObject<Env> {
  protected readonly state: LedgerState;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.state = new LedgerState(ctx.storage);
    // blockConcurrencyWhile: no request runs before the schema exists.
    ctx.blockConcurrencyWhile(async () => migrate(this.state));
  }

  /**
   * `fn` in one transaction, credits applied again if it changed drafts or grants (so the answer is exact), then the
   * after-commit step (also when `fn` changed nothing: it retries what waits).
   */
  protected async mutate<T>(outbox: OutboxTiming, now: number, fn: () => T): Promise<T> {
    return (await this.mutateReporting(outbox, now, fn)).result;
  }

  /**
   * mutate, also answering which alerts the mutation triggered. After `fn`, in the same transaction: credits are applied
   * (§15), drafts that reached their invoice_threshold are invoiced (§16), then alerts are evaluated (§16).
   */
  protected async mutateReporting<T>(outbox: OutboxTiming, now: number, fn: () => T): Promise<{ result: T; fired: FiredAlert[]; interims: string[] }> {
    const out = this.state.transact(() => {
      const result = fn();
      // A shard has no invoices, credits or alerts of its own: its primary settles them (ledger/shards.ts).
      if (this.state.shard !== 0) return { result, interims: [], fired: [] };
      settleCredits(this.state, now);
      const interims = invoiceThresholds(this.state, currentSnapshot(this.state), now);
      return { result, interims, fired: evaluateAlerts(this.state, now) };
    });
    await afterCommit(this.state, this.env, outbox);
    return out;
  }

  protected stale(who: LedgerIdentity, version: number) {
    return staleSnapshot(this.state, database(this.env.DB), who, version);
  }

  protected invoice(id: string): InvoiceView | null {
    const row = invoiceRow(this.state, id);
    return row ? invoiceView(this.state, row) : null;
  }

  /** The alarm retries the after-commit step (D1 publishes, the webhook outbox) until D1 has everything. */
  override async alarm(): Promise<void> {
    this.state.alarmAt = null;
    if (!this.state.known) return;
    await afterCommit(this.state, this.env, "now");
    if (this.state.shard !== 0) await this.report(Number(this.state.meta("snapshot_version") ?? "0"), Date.now());
  }

  /** A shard's unreported aggregates go to its primary; answers what the primary's settling triggered. */
  protected async report(version: number, now: number): Promise<Pick<Extract<IngestOutcome, { ok: true }>, "chargeNow" | "alertsTriggered">> {
    const push = this.state.transact(() => takePush(this.state));
    if (!push) return { chargeNow: [], alertsTriggered: [] };
    // NOTE: armed before the push, so a report lost with the object (or refused by the primary) is sent by the alarm;
    // the push is idempotent, and one that arrives after a newer one changes nothing (shards.ts applyPush).
    await armAlarm(this.state, Date.now() + 10_000);
    try {
      return await reportToPrimary(this.env, this.state, version, push, now);
    } catch (err) {
      await armAlarm(this.state, Date.now() + 1_000);
      throw err;
    }
  }

  // ---- shards (ledger/shards.ts) ---------------------------------------------------------------------------------

  /**
   * Before a billing run finalizes anything: every period that will be due (drafts are opened first, as the run itself
   * would) is closed in the customer's other shards, which hand over their final state.
   */
  protected async closeDue(who: LedgerIdentity, fresh: LedgerSnapshot | null, asOf: number): Promise<ShardPush[]> {
    const history = (fresh ?? (this.state.known ? currentSnapshot(this.state) : null))?.shards ?? [1];
    if (shardsOf(history) < 2) return [];
    const due = await this.mutate("now", asOf, () => {
      const s = adoptSnapshot(this.state, who, fresh, asOf);
      for (const contract of s.contracts) openPeriodsUpTo(this.state, contract, asOf);
      return this.state.sql
        .exec<{ contract_id: string; period_start: number; invoice_id: string }>(
          "SELECT contract_id, period_start, id AS invoice_id FROM invoices WHERE status = 'draft' AND kind = 'period' AND finalize_after <= ?",
          asOf,
        )
        .toArray();
    });
    return closeInShards(this.env, this.state, currentSnapshot(this.state), due, asOf);
  }

  /** The shards' final state of periods about to be finalized, applied inside the finalizing transaction. */
  protected applyClosed(s: LedgerSnapshot, closed: ShardPush[], now: number): void {
    for (const push of closed) repriceAll(this.state, s, applyPush(this.state, s, push, now).touched, now);
  }

  /** In the primary: a shard's report. Its drafts are repriced with it, and credits, thresholds and alerts settled. */
  async applyShardPush(who: LedgerIdentity, version: number, push: ShardPush, now: number) {
    const fresh = await this.stale(who, version);
    const { result, fired, interims } = await this.mutateReporting("alarm", now, () => {
      const snapshot = adoptSnapshot(this.state, who, fresh, now);
      const { touched, invoices } = applyPush(this.state, snapshot, push, now);
      repriceAll(this.state, snapshot, touched, now);
      settleCredits(this.state, now);
      return { chargeNow: triggerTopUps(this.state, now), invoices };
    });
    return { chargeNow: [...result.chargeNow, ...interims], alertsTriggered: fired, invoices: result.invoices };
  }

  /** Which of `keys` this shard stores, answered after adopting the asker's snapshot (shard-calls.ts findOwners). */
  async heldKeys(who: LedgerIdentity, version: number, keys: string[], now: number): Promise<string[]> {
    const fresh = await this.stale(who, version);
    return this.mutate("alarm", now, () => {
      adoptSnapshot(this.state, who, fresh, now);
      return [...storedKeys(this.state.sql, keys)];
    });
  }

  /** In a shard: close periods its primary is about to finalize, and hand over their state (shards.ts closePeriods). */
  async closePeriods(who: LedgerIdentity, version: number, periods: PrimaryInvoice[], now: number): Promise<ShardPush | null> {
    const fresh = await this.stale(who, version);
    return this.mutate("alarm", now, () => closePeriods(this.state, adoptSnapshot(this.state, who, fresh, now), periods, now));
  }

}
