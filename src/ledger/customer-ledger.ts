// CustomerLedger: the Durable Object that owns one customer's events, aggregates and invoices, and the only writer of
// them. A thin class: every mutation is one SQLite transaction (mutate, in ledger-core.ts) followed by one after-commit
// step that publishes to D1 and schedules the webhook outbox; the work itself lives in the modules it imports.
import type { InvoiceAction, PaymentRecord } from "../domain/invoice-lifecycle";
import type { AlertStatusView, EntitlementView } from "../schemas/alerts";
import type { CreditGrantView, CreditLedgerEntryView, CreditTopUpView } from "../schemas/credits";
import { alertStatuses, entitlements } from "./alerts";
import { auditAggregates } from "./audit";
import {
  regenerateInvoice,
  voidEvent,
  voidEventRange,
  type EventRange,
  type RegenerateRefusal,
  type VoidRefusal,
} from "./corrections";
import { settleCredits } from "./credit-application";
import {
  checkCreditNote,
  completeCreditNote,
  creditNoteOutcome,
  dropCreditNote,
  issueCreditNote,
  pendingCreditNotes,
  type CreditNoteCheck,
  type CreditNoteOutcome,
  type CreditNoteRefusal,
  type NewCreditNote,
  type PendingCreditNote,
} from "./credit-notes";
import {
  adjustGrant,
  createGrant,
  grantRow,
  grantView,
  listEntries,
  listGrants,
  voidGrant,
  type GrantRefusal,
  type GrantStatus,
  type NewGrant,
} from "./credits";
import { openPeriodsUpTo, invoiceRow } from "./drafts";
import { ingestEvents } from "./ingest";
import { LedgerCore } from "./ledger-core";
import { applyAction, lockDue, recordPayment } from "./invoices";
import { closeInShards, findOwners, forwardOwned, mergeForwarded, misrouted } from "./shard-calls";
import { adoptSnapshot, currentSnapshot, type LedgerIdentity } from "./snapshot";
import { deleteTopUp, putTopUp, topUps, triggerTopUps, type TopUpSettings } from "./top-ups";
import type {
  AggregateMismatch,
  BillingOutcome,
  DuplicatePolicy,
  EventView,
  IngestEvent,
  IngestOutcome,
  InvoiceActionResult,
  InvoiceView,
  LedgerEventQuery,
  ListedEvent,
  PaymentRecorded,
} from "./types";
import { usageFromRollups, type UsageQuery, type UsageWindow } from "./usage";
import { dailyEventCounts, eventById, invoicesByStatus, listEvents, upcomingInvoice } from "./views";

export class CustomerLedger extends LedgerCore {
  /** Called after a contract of this customer changed in D1: reload, open first drafts, index them. */
  async refresh(who: LedgerIdentity, version: number, now: number): Promise<void> {
    const fresh = await this.stale(who, version);
    await this.mutate("now", now, () => adoptSnapshot(this.state, who, fresh, now));
    // A shard's events decided again under the new snapshot reach its primary's drafts before the caller's answer.
    if (this.state.shard !== 0) await this.report(version, now);
  }

  /**
   * `externalIds`: the external_ids the edge resolved to this customer for these events (none when named by id).
   * `owned`: sent by another shard of the customer because this one owns these keys (shard-calls.ts).
   */
  async ingest(
    who: LedgerIdentity,
    version: number,
    events: IngestEvent[],
    policy: DuplicatePolicy,
    now: number,
    externalIds: string[] = [],
    owned = false,
  ): Promise<IngestOutcome> {
    const fresh = await this.stale(who, version);
    const history = (fresh ?? (this.state.known ? currentSnapshot(this.state) : null))?.shards ?? [1];
    // NOTE: after the shard count was raised, a key an earlier shard already stores stays there (its dedup and
    // replacement are that shard's); only keys never seen are stored under the new routing.
    const elsewhere = owned ? [] : await findOwners(this.env, this.state, who, version, history, events, now);
    const away = new Set(elsewhere.flatMap((o) => o.indexes));
    const local = away.size === 0 ? events : events.filter((_, i) => !away.has(i));
    const { result, fired, interims } = await this.mutateReporting("alarm", now, (): IngestOutcome => {
      const snapshot = adoptSnapshot(this.state, who, fresh, now);
      // NOTE: the edge checks these too, from a cache that can be seconds old; the ledger has the last word. Changing or
      // archiving a customer refreshes its ledger before the API answers, so an event routed by an outdated cache entry
      // (an external_id that has since moved to another customer) is refused here instead of billed to the wrong one.
      if (snapshot.archived) return { ok: false, code: "customer_archived" };
      if (externalIds.some((x) => x !== snapshot.externalId)) return { ok: false, code: "customer_moved" };
      if (misrouted(this.state, snapshot, local, owned)) return { ok: false, code: "shard_moved" };
      const results = ingestEvents(this.state, snapshot, local, policy, now);
      if (this.state.shard !== 0) return { ok: true, results, chargeNow: [], alertsTriggered: [] };
      // Auto top-up reads what is available after this call's events, so credits are applied first.
      settleCredits(this.state, now);
      return { ok: true, results, chargeNow: triggerTopUps(this.state, now), alertsTriggered: [] };
    });
    if (!result.ok) return result;
    // Threshold invoices exist to be paid before the period ends: like top-ups, charged right after the answer.
    const answer: IngestOutcome = { ...result, chargeNow: [...result.chargeNow, ...interims], alertsTriggered: fired };
    if (this.state.shard !== 0) {
      const settled = await this.report(version, now);
      answer.chargeNow.push(...settled.chargeNow);
      answer.alertsTriggered.push(...settled.alertsTriggered);
    }
    if (elsewhere.length === 0) return answer;
    return mergeForwarded(answer, events.length, away, await Promise.all(elsewhere.map(async (o) => ({ o, out: await forwardOwned(this.env, who, version, o, events, policy, now, externalIds) }))));
  }

  /**
   * The billing run for this customer as of `asOf` (SPEC §10): open the draft of every period that has begun,
   * finalize every draft whose period and grace have ended (in period order); numbers are published after the commit.
   * Idempotent: a second run finds nothing due; a run after a crash publishes what the first one locked.
   */
  async runBilling(who: LedgerIdentity, version: number, asOf: number): Promise<BillingOutcome> {
    const fresh = await this.stale(who, version);
    const closed = await this.closeDue(who, fresh, asOf);
    return this.mutate("now", asOf, () => {
      const s = adoptSnapshot(this.state, who, fresh, asOf);
      this.applyClosed(s, closed, asOf);
      // Expiries that came due since the last call are recorded by the settle step after this.
      this.state.creditsDirty = true;
      let opened = 0;
      for (const contract of s.contracts) opened += openPeriodsUpTo(this.state, contract, asOf);
      return { finalized: lockDue(this.state, s, asOf), opened };
    });
  }

  async finalizeInvoice(invoiceId: string, now: number): Promise<InvoiceActionResult> {
    return this.invoiceAction(invoiceId, "finalize", now);
  }

  async voidInvoice(invoiceId: string, now: number): Promise<InvoiceActionResult> {
    return this.invoiceAction(invoiceId, "void", now);
  }

  async markPaid(invoiceId: string, now: number): Promise<InvoiceActionResult> {
    return this.invoiceAction(invoiceId, "mark_paid", now);
  }

  private async invoiceAction(invoiceId: string, action: InvoiceAction, now: number): Promise<InvoiceActionResult> {
    const row = action === "finalize" && this.state.known ? invoiceRow(this.state, invoiceId) : null;
    const closing = row?.status === "draft" && row.kind === "period" ? [{ contract_id: row.contract_id!, period_start: row.period_start, invoice_id: row.id }] : [];
    const closed = await closeInShards(this.env, this.state, currentSnapshot(this.state), closing, now);
    const refused = await this.mutate("now", now, () => {
      this.applyClosed(currentSnapshot(this.state), closed, now);
      return applyAction(this.state, currentSnapshot(this.state), invoiceId, action, now);
    });
    // Read after the commit step, so a finalized invoice carries the number D1 gave it.
    return refused ?? { invoice: this.invoice(invoiceId)! };
  }

  /** Regenerates a void period invoice as a new draft (SPEC §18, corrections.ts). */
  async regenerateInvoice(who: LedgerIdentity, version: number, invoiceId: string, now: number): Promise<{ invoice: InvoiceView } | RegenerateRefusal> {
    const fresh = await this.stale(who, version);
    return this.mutate("now", now, () => regenerateInvoice(this.state, adoptSnapshot(this.state, who, fresh, now), invoiceId, now));
  }

  /** Voids one event (SPEC §18, corrections.ts). */
  async voidEvent(who: LedgerIdentity, version: number, eventId: string, now: number): Promise<{ event: EventView } | VoidRefusal> {
    const fresh = await this.stale(who, version);
    const outcome = await this.mutate("now", now, () => voidEvent(this.state, adoptSnapshot(this.state, who, fresh, now), eventId, now));
    // A shard's void reaches its primary's draft (and credits, alerts) before the caller's answer.
    if (this.state.shard !== 0 && "event" in outcome) await this.report(version, now);
    return outcome;
  }

  /** Voids the customer's events in a range, all or none (SPEC §18, corrections.ts). */
  async voidEvents(who: LedgerIdentity, version: number, range: EventRange, now: number): Promise<{ voided: number } | VoidRefusal> {
    const fresh = await this.stale(who, version);
    return this.mutate("now", now, () => voidEventRange(this.state, adoptSnapshot(this.state, who, fresh, now), range, now));
  }

  /** Records a payment outcome on an invoice (see recordPayment in invoices.ts). */
  async recordPayment(invoiceId: string, p: PaymentRecord): Promise<PaymentRecorded> {
    const recorded = await this.mutate("now", p.at, () => recordPayment(this.state, invoiceId, p));
    return recorded && { invoice: this.invoice(invoiceId)!, paidNow: recorded.paidNow };
  }

  // ---- credits (SPEC §15) -------------------------------------------------------------------------------------

  /** A new grant; a prepaid one comes with its purchase invoice, finalized (and numbered) before this answers. */
  async createCreditGrant(who: LedgerIdentity, version: number, input: NewGrant, now: number): Promise<{ grant: CreditGrantView; invoice: InvoiceView | null }> {
    const fresh = await this.stale(who, version);
    const created = await this.mutate("now", now, () => {
      adoptSnapshot(this.state, who, fresh, now);
      const { grant, invoice } = createGrant(this.state, input, now);
      return { grantId: grant.id, invoiceId: invoice?.id ?? null };
    });
    return { grant: this.grant(created.grantId)!, invoice: created.invoiceId ? this.invoice(created.invoiceId) : null };
  }

  async voidCreditGrant(id: string, now: number): Promise<{ grant: CreditGrantView } | GrantRefusal> {
    const refused = await this.mutate("now", now, () => voidGrant(this.state, id, now));
    return refused ?? { grant: this.grant(id)! };
  }

  async adjustCreditGrant(id: string, amount: string, reason: string, now: number): Promise<{ grant: CreditGrantView } | GrantRefusal> {
    const refused = await this.mutate("now", now, () => adjustGrant(this.state, id, amount, reason, now));
    return refused ?? { grant: this.grant(id)! };
  }

  async getCreditGrant(id: string): Promise<CreditGrantView | null> {
    return this.grant(id);
  }

  async listCreditGrants(status?: GrantStatus): Promise<CreditGrantView[]> {
    return this.state.known ? listGrants(this.state, status) : [];
  }

  async creditLedger(q: { grantId?: string; before?: number; limit: number }): Promise<Array<{ seq: number; entry: CreditLedgerEntryView }>> {
    return this.state.known ? listEntries(this.state, q) : [];
  }

  async creditTopUps(): Promise<CreditTopUpView[]> {
    return this.state.known ? topUps(this.state) : [];
  }

  async putCreditTopUp(who: LedgerIdentity, t: TopUpSettings, now: number): Promise<CreditTopUpView> {
    return this.mutate("now", now, () => {
      this.state.remember(who);
      return putTopUp(this.state, t, now);
    });
  }

  async deleteCreditTopUp(currency: string, now: number): Promise<boolean> {
    return this.state.known ? this.mutate("now", now, () => deleteTopUp(this.state, currency)) : false;
  }

  private grant(id: string): CreditGrantView | null {
    const row = grantRow(this.state, id);
    return row ? grantView(this.state, row) : null;
  }

  // ---- credit notes (SPEC §18) ------------------------------------------------------------------------------

  /** What a note would do to the invoice as it is now (the dashboard's confirmation, the service's checks); writes nothing. */
  async checkCreditNote(invoiceId: string, terms: Omit<NewCreditNote, "id" | "reason" | "memo">): Promise<CreditNoteCheck | CreditNoteRefusal> {
    const checked = checkCreditNote(this.state, invoiceId, terms);
    return "error" in checked ? checked : { plan: checked.plan, invoice: checked.invoice };
  }

  /** Issues a note, or reserves it (pending) while the service refunds it through Stripe; the same id again answers it as stored. */
  async issueCreditNote(invoiceId: string, input: NewCreditNote, now: number): Promise<CreditNoteOutcome | CreditNoteRefusal> {
    return this.mutate("now", now, () => {
      const out = issueCreditNote(this.state, invoiceId, input, now);
      return "error" in out ? out : creditNoteOutcome(this.state, out.note);
    });
  }

  /** A pending note's refund went through: the note is issued with it (null: no such note). */
  async completeCreditNote(id: string, refundId: string, now: number): Promise<CreditNoteOutcome | null> {
    return this.mutate("now", now, () => {
      const n = completeCreditNote(this.state, id, refundId, now);
      return n && creditNoteOutcome(this.state, n);
    });
  }

  /** A pending note's refund was refused: the note is dropped and its amount is free again. */
  async dropCreditNote(id: string, now: number): Promise<void> {
    await this.mutate("now", now, () => dropCreditNote(this.state, id));
  }

  async pendingCreditNotes(invoiceId: string): Promise<PendingCreditNote[]> {
    return this.state.known ? pendingCreditNotes(this.state, invoiceId).map((n) => creditNoteOutcome(this.state, n).note as PendingCreditNote) : [];
  }

  // ---- alerts (SPEC §16) ----------------------------------------------------------------------------------------

  /** Every alert that applies to the customer, with its value and state now. */
  async alertStatuses(who: LedgerIdentity, version: number, now: number): Promise<AlertStatusView[]> {
    await this.catchUp(who, version, now);
    return alertStatuses(this.state, now);
  }

  /** One entitlement per enforced usage alert: exact to the last acknowledged event. */
  async entitlements(who: LedgerIdentity, version: number, now: number): Promise<EntitlementView[]> {
    await this.catchUp(who, version, now);
    return entitlements(this.state, now);
  }

  /** A read that needs the snapshot as of `version` (an alert created a moment ago): reload first when behind. */
  private async catchUp(who: LedgerIdentity, version: number, now: number): Promise<void> {
    const fresh = await this.stale(who, version);
    if (fresh || !this.state.known) await this.mutate("now", now, () => adoptSnapshot(this.state, who, fresh, now));
  }

  // ---- reads ------------------------------------------------------------------------------------------------

  async getInvoice(invoiceId: string): Promise<InvoiceView | null> {
    return this.invoice(invoiceId);
  }

  async getInvoices(ids: string[]): Promise<InvoiceView[]> {
    return ids.flatMap((id) => this.invoice(id) ?? []);
  }

  async listInvoices(status?: string): Promise<InvoiceView[]> {
    return invoicesByStatus(this.state, status);
  }

  async upcomingInvoice(now: number): Promise<InvoiceView | null> {
    return upcomingInvoice(this.state, now);
  }

  async getEvent(eventId: string): Promise<EventView | null> {
    return eventById(this.state, eventId);
  }

  async listEvents(q: LedgerEventQuery): Promise<ListedEvent[]> {
    return this.state.known ? listEvents(this.state, q) : [];
  }

  async dailyEventCounts(start: number, from: number, to: number, dayMs: number): Promise<Array<{ day: number; n: number }>> {
    return dailyEventCounts(this.state, start, from, to, dayMs);
  }

  /** Usage of one meter per window, from the hourly rollups (SPEC §13). */
  async usage(q: UsageQuery): Promise<UsageWindow[]> {
    return usageFromRollups(this.state.sql, q);
  }

  /** The storage schema version, to check the object is reachable and migrated. */
  async schemaVersion(): Promise<number> {
    return Number(this.state.meta("schema_version"));
  }

  /** Every aggregate recomputed from the stored events; empty means the ledger is consistent (audit.ts). */
  async auditAggregates(): Promise<AggregateMismatch[]> {
    return auditAggregates(this.state);
  }
}
