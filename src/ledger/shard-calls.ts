// The calls between a customer's ledger shards (docs/internals.md "Ledger shards"): asking earlier homes of a key
// whether they own it, a shard's report to its primary before it answers, and the primary closing periods in every
// shard before it finalizes them.
import { earlierHomes, shardOfKey, shardsOf } from "../domain/ledger-shards";
import type { Env } from "../env";
import { storedKeys } from "./ingest";
import { ackPush, learnInvoiceIds, type PrimaryInvoice, type ShardPush } from "./shards";
import type { LedgerIdentity, LedgerSnapshot } from "./snapshot";
import type { LedgerState } from "./state";
import { ledgerStub } from "./stub";
import type { DuplicatePolicy, IngestEvent, IngestOutcome } from "./types";

function shardStub(env: Env, who: LedgerIdentity, shard: number) {
  return ledgerStub(env, who, who.customerId, shard);
}


/** Events of a call that an earlier home owns, by home: they are stored there, never here (see forwardOwned). */
export interface Owned {
  home: number;
  indexes: number[];
}

/**
 * Which of these events' keys a shard that held them under an earlier shard count still owns. Only keys new to this
 * shard are asked about, one call per earlier home.
 * NOTE: the question carries the caller's ledger_version, and the home answers after adopting that snapshot in the
 * same transaction that reads its keys: from then on it refuses keys that are no longer its own, so a key it did not
 * hold cannot be stored there afterwards by an edge with an outdated shard count (CustomerLedger.ingest).
 */
export async function findOwners(env: Env, state: LedgerState, who: LedgerIdentity, version: number, history: number[], events: IngestEvent[], now: number): Promise<Owned[]> {
  if (history.length < 2) return [];
  const shard = who.shard ?? 0;
  const here = storedKeys(state.sql, events.map((e) => e.idempotencyKey));
  const asks = new Map<number, number[]>();
  events.forEach((e, i) => {
    if (here.has(e.idempotencyKey)) return;
    for (const home of earlierHomes(e.idempotencyKey, history, shard)) {
      const indexes = asks.get(home);
      if (indexes) indexes.push(i);
      else asks.set(home, [i]);
    }
  });
  const owned = new Map<number, number>();
  await Promise.all(
    [...asks].map(async ([home, indexes]) => {
      const held = new Set(await shardStub(env, who, home).heldKeys({ ...who, shard: home }, version, indexes.map((i) => events[i]!.idempotencyKey), now));
      for (const i of indexes) if (held.has(events[i]!.idempotencyKey) && !owned.has(i)) owned.set(i, home);
    }),
  );
  const byHome = new Map<number, number[]>();
  for (const [i, home] of owned) {
    const indexes = byHome.get(home);
    if (indexes) indexes.push(i);
    else byHome.set(home, [i]);
  }
  return [...byHome].map(([home, indexes]) => ({ home, indexes: indexes.sort((a, b) => a - b) }));
}

/** Sends owned events to the shard that owns them, marked as its own (it stores them whatever the current routing says). */
export async function forwardOwned(
  env: Env,
  who: LedgerIdentity,
  version: number,
  owned: Owned,
  events: IngestEvent[],
  policy: DuplicatePolicy,
  now: number,
  externalIds: string[],
): Promise<IngestOutcome> {
  return shardStub(env, who, owned.home).ingest({ ...who, shard: owned.home }, version, owned.indexes.map((i) => events[i]!), policy, now, externalIds, true);
}

/** Keys new to this shard that route elsewhere under the current count: the edge's count is outdated (shard_moved). */
export function misrouted(state: LedgerState, snapshot: LedgerSnapshot, events: IngestEvent[], owned: boolean): boolean {
  if (owned) return false;
  const count = snapshot.shards[snapshot.shards.length - 1] ?? 1;
  const shard = state.shard;
  const strays = events.filter((e) => shardOfKey(e.idempotencyKey, count) !== shard);
  if (strays.length === 0) return false;
  return storedKeys(state.sql, strays.map((e) => e.idempotencyKey)).size < new Set(strays.map((e) => e.idempotencyKey)).size;
}

/**
 * A shard's report to its primary: awaited before the shard answers, so what the call changed is on the customer's
 * draft, its credits and alerts when the caller gets the answer. On failure the outbox keeps the rows and the alarm (or
 * the next call) sends them again; the caller gets an error, never an answer the invoice does not show.
 */
export async function reportToPrimary(env: Env, state: LedgerState, version: number, push: ShardPush, now: number) {
  const who = state.identity();
  const answer = await shardStub(env, who, 0).applyShardPush({ ...who, shard: 0 }, version, push, now);
  state.transact(() => {
    ackPush(state, push.stamp);
    learnInvoiceIds(state, answer.invoices);
  });
  return answer;
}

/**
 * In the primary, before periods are finalized: every other shard closes them and hands over their final state.
 * NOTE: awaited before the finalizing transaction; an event a shard stores after its close is late there, exactly as
 * one arriving after finalization is late in an unsharded ledger.
 */
export async function closeInShards(env: Env, state: LedgerState, snapshot: LedgerSnapshot, periods: PrimaryInvoice[], now: number): Promise<ShardPush[]> {
  const count = shardsOf(snapshot.shards);
  if (count < 2 || periods.length === 0) return [];
  const who = state.identity();
  const pushes = await Promise.all(
    Array.from({ length: count - 1 }, (_, i) => shardStub(env, who, i + 1).closePeriods({ ...who, shard: i + 1 }, snapshot.version, periods, now)),
  );
  return pushes.flatMap((p) => (p ? [p] : []));
}

/** The call's answer with the forwarded events' outcomes put back in their places (a refusal there refuses the call). */
export function mergeForwarded(
  local: Extract<IngestOutcome, { ok: true }>,
  total: number,
  away: ReadonlySet<number>,
  forwarded: Array<{ o: Owned; out: IngestOutcome }>,
): IngestOutcome {
  const results: Extract<IngestOutcome, { ok: true }>["results"] = new Array(total);
  let next = 0;
  for (let i = 0; i < total; i++) if (!away.has(i)) results[i] = local.results[next++]!;
  const merged = { ...local, results, chargeNow: [...local.chargeNow], alertsTriggered: [...local.alertsTriggered] };
  for (const { o, out } of forwarded) {
    // NOTE: the events stored here stay stored: like a batch over customers, the edge reports the refusal and a retry
    // finds them as duplicates.
    if (!out.ok) return out;
    o.indexes.forEach((i, j) => (results[i] = out.results[j]!));
    merged.chargeNow.push(...out.chargeNow);
    merged.alertsTriggered.push(...out.alertsTriggered);
  }
  return merged;
}
