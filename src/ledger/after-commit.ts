// What follows every committed ledger mutation, in one order: publish finalized invoices (numbers) and the invoice
// index to D1, publish new event activity, then move the webhook outbox to D1 now or from the alarm. The alarm runs
// the same step, so whatever failed here is retried until D1 has it.
import type { Env } from "../env";
import { flushLedgerOutbox, notifyWebhooks } from "../webhooks/outbox";
import { activityUnpublished, publishActivity, publishFinalized, syncInvoiceIndex } from "./projections";
import type { LedgerState } from "./state";

/**
 * `now`: deliver recorded webhook events before the call answers (invoice actions, billing, payments).
 * `alarm`: leave them to the alarm right after the call answers (ingest: delivery is asynchronous anyway, and unbilled
 * traffic should not pay a D1 round trip per call).
 */
export type OutboxTiming = "now" | "alarm";

export async function afterCommit(state: LedgerState, env: Env, outbox: OutboxTiming): Promise<void> {
  // A shard's invoices are placeholders; its primary publishes the customer's (ledger/shards.ts).
  if (state.shard === 0) {
    await publishFinalized(state, env.DB);
    await syncInvoiceIndex(state, env.DB);
  }
  if (!(await publishActivity(state, env.DB))) await armAlarm(state, Date.now() + 5_000);
  if (outbox === "now") await flushWebhooks(state, env);
  else if (!outboxEmpty(state)) await armAlarm(state, Date.now());
}

/**
 * Moves recorded webhook events to D1 and wakes the dispatcher. NOTE: an alarm is armed first (unless an earlier one
 * is), so if D1 cannot be reached or the object dies here the alarm tries again; the outbox rows are deleted only
 * once D1 has them. An alarm that finds the outbox empty does nothing, so it is never cancelled.
 */
async function flushWebhooks(state: LedgerState, env: Env): Promise<void> {
  if (outboxEmpty(state)) return;
  const scope = state.identity();
  await armAlarm(state, Date.now() + 30_000);
  state.flushesInFlight += 1;
  try {
    while ((await flushLedgerOutbox(state.sql, env.DB, scope)) > 0);
    await notifyWebhooks(env, scope);
  } catch (err) {
    console.error("ledger: webhook outbox flush failed; the alarm retries", err);
  } finally {
    state.flushesInFlight -= 1;
  }
  await disarmIfIdle(state);
}

function outboxEmpty(state: LedgerState): boolean {
  if (!state.outboxMayHoldRows) return true;
  const empty = state.sql.exec("SELECT 1 FROM webhook_outbox LIMIT 1").toArray().length === 0;
  if (empty && state.flushesInFlight === 0) state.outboxMayHoldRows = false;
  return empty;
}

/** Arms the alarm for `at` unless one is armed sooner. */
export async function armAlarm(state: LedgerState, at: number): Promise<void> {
  if (state.alarmAt === undefined) state.alarmAt = await state.storage.getAlarm();
  if (state.alarmAt !== null && state.alarmAt <= at) return;
  state.alarmAt = at;
  await state.storage.setAlarm(at);
}

/**
 * NOTE: the alarm is only needed while outbox rows wait. Once both outboxes are empty and no flush is between its
 * read and D1, it is dropped, so an idle ledger is not woken again later: after a billing run over thousands of
 * customers that wave of wake-ups alone exhausted local workerd's SQLite memory.
 */
async function disarmIfIdle(state: LedgerState): Promise<void> {
  // A shard's alarm also stands for reports its primary may not have yet (ledger-core.ts report): it stays armed.
  if (state.shard !== 0) return;
  if (state.flushesInFlight > 0 || state.activityPublishesInFlight > 0 || !outboxEmpty(state) || activityUnpublished(state)) return;
  if (state.alarmAt === null) return;
  state.alarmAt = null;
  await state.storage.deleteAlarm();
}
