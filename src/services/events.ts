// Event ingestion: validate a whole batch, resolve its customers (from the isolate's cache, else in one D1 query that
// re-checks the key), and hand each customer's events to its ledger in one RPC. A warm request touches no D1: the
// ledger indexes its events in D1 itself, after the response.
import type { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import { database } from "../db/client";
import { apiKeys, customers } from "../db/schema";
import { ApiError, ERROR_CODES, type ErrorCode, type ErrorDetail } from "../errors";
import type { Caller, Env } from "../env";
import { callerOf, type KeyRow, type PresentedKey } from "../http/auth";
import { detailsOf } from "../http/validation";
import type { DuplicatePolicy, IngestEvent, IngestOutcome, IngestResult } from "../ledger/types";
import { shardOfKey } from "../domain/ledger-shards";
import { ledgerStub } from "../ledger/stub";
import { collectNow } from "./credits";
import { cachedCustomer, forgetCustomer, rememberCustomer, rememberKey, type CachedCustomer } from "./ingest-cache";
import { EVENT_ALIASES, EventInput, FUTURE_TOLERANCE_MS, MAX_BATCH, MetronomeEvent } from "../schemas/events";
import { illFormedDetail } from "../schemas/common";
import { findIllFormed } from "../domain/unicode";

type CustomerRef = { by: "id_or_external_id" | "external_id"; value: string };

interface Parsed {
  index: number;
  ref: CustomerRef;
  event: IngestEvent;
}

export type Dialect = "meterline" | "metronome";

function issueDetails(error: z.ZodError, input: unknown, index: number): ErrorDetail[] {
  return error.issues.flatMap((issue) => detailsOf(issue, input)).map((d) => ({ index, ...d }));
}

function renameAliases(raw: Record<string, unknown>, index: number, errors: ErrorDetail[]): Record<string, unknown> {
  const out = { ...raw };
  for (const [alias, field] of Object.entries(EVENT_ALIASES)) {
    if (!(alias in out)) continue;
    if (field in out) {
      errors.push({ index, param: alias, code: "parameter_invalid", message: `give either ${field} or ${alias}, not both` });
      continue;
    }
    out[field] = out[alias];
    delete out[alias];
  }
  return out;
}

function parseOne(raw: unknown, index: number, dialect: Dialect, now: number, errors: ErrorDetail[]): Parsed | null {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    errors.push({ index, code: "parameter_invalid", message: "each event must be a JSON object" });
    return null;
  }
  const illFormed = findIllFormed(raw);
  if (illFormed) {
    const { param, message } = illFormedDetail(illFormed);
    errors.push({ index, ...(param ? { param } : {}), code: "parameter_invalid", message });
    return null;
  }
  let ref: CustomerRef;
  let event: IngestEvent;
  if (dialect === "metronome") {
    const parsed = MetronomeEvent.safeParse(raw);
    if (!parsed.success) {
      errors.push(...issueDetails(parsed.error, raw, index));
      return null;
    }
    const e = parsed.data;
    ref = { by: "id_or_external_id", value: e.customer_id };
    event = { idempotencyKey: e.transaction_id, eventName: e.event_type, timestamp: e.timestamp, explicitTimestamp: true, properties: e.properties ?? {} };
  } else {
    const before = errors.length;
    const body = renameAliases(raw as Record<string, unknown>, index, errors);
    const parsed = EventInput.safeParse(body);
    if (!parsed.success) errors.push(...issueDetails(parsed.error, body, index));
    if (!parsed.success || errors.length > before) return null;
    const e = parsed.data;
    ref = e.customer_id !== undefined ? { by: "id_or_external_id", value: e.customer_id } : { by: "external_id", value: e.external_customer_id! };
    event = {
      // NOTE: without a key the server makes one, so a retry without a key is a new event (SPEC §8).
      idempotencyKey: e.idempotency_key ?? crypto.randomUUID(),
      eventName: e.event_name,
      timestamp: e.timestamp ?? now,
      explicitTimestamp: e.timestamp !== undefined,
      properties: e.properties ?? {},
    };
  }
  if (event.timestamp > now + FUTURE_TOLERANCE_MS) {
    errors.push({ index, param: "timestamp", code: "timestamp_too_far_in_future", message: "timestamp must not be more than 1 hour in the future" });
    return null;
  }
  return { index, ref, event };
}

type CustomerHit = CachedCustomer;

/**
 * The API key again and every distinct customer the request names, in one D1 query (the references travel as one JSON
 * parameter); the key row comes back even when no customer matches. Only run when the isolate's cache cannot answer.
 */
async function authenticateAndResolve(env: Env, key: PresentedKey, refs: CustomerRef[], now: number) {
  const values = JSON.stringify([...new Set(refs.map((r) => r.value))]);
  const results: (KeyRow & {
    id: string | null;
    external_id: string | null;
    archived_at: number | null;
    ledger_version: number | null;
    ledger_shards: number[] | null;
  })[] =
    await database(env.DB)
      .select({
        key_id: apiKeys.id,
        account_id: apiKeys.accountId,
        key_mode: apiKeys.mode,
        revoked_at: apiKeys.revokedAt,
        id: customers.id,
        external_id: customers.externalId,
        archived_at: customers.archivedAt,
        ledger_version: customers.ledgerVersion,
        ledger_shards: customers.ledgerShards,
      })
      .from(apiKeys)
      .leftJoin(
        customers,
        and(
          eq(customers.accountId, apiKeys.accountId),
          eq(customers.mode, apiKeys.mode),
          sql`(${customers.id} IN (SELECT value FROM json_each(${values})) OR ${customers.externalId} IN (SELECT value FROM json_each(${values})))`,
        ),
      )
      .where(eq(apiKeys.keyHash, key.hash));
  const caller = callerOf(key, results[0]);
  rememberKey(key.hash, results[0]!, now);
  const hits: CustomerHit[] = results.flatMap((r) =>
    r.id === null
      ? []
      : [{ id: r.id, external_id: r.external_id, archived_at: r.archived_at, ledger_version: r.ledger_version!, ledger_shards: r.ledger_shards!.at(-1) ?? 1 }],
  );
  return { caller, hits };
}

function lookup(hits: CustomerHit[], ref: CustomerRef): CustomerHit | undefined {
  if (ref.by === "id_or_external_id") {
    return hits.find((h) => h.id === ref.value) ?? hits.find((h) => h.external_id === ref.value);
  }
  return hits.find((h) => h.external_id === ref.value);
}

function rejectBatch(errors: ErrorDetail[], total: number): never {
  const status = (d: ErrorDetail) => ERROR_CODES[d.code as ErrorCode] ?? 400;
  // NOTE: a malformed event outranks an unknown customer, which outranks an archived one, for the batch's status.
  const worst = [...errors].sort((a, b) => (status(a) === 400 ? 0 : status(a)) - (status(b) === 400 ? 0 : status(b)))[0]!;
  const message =
    total === 1 || errors.length === 1
      ? worst.message
      : `${new Set(errors.map((e) => e.index)).size} of ${total} events are invalid; nothing was stored (see errors)`;
  throw new ApiError(worst.code as ErrorCode, message, {
    ...(total === 1 && worst.param ? { param: worst.param } : {}),
    errors,
  });
}

/**
 * Validates every event, and stores none unless all are valid (SPEC §8). Then one ledger RPC per customer.
 * `first_wins` is Metronome's rule for a repeated transaction_id; ours is that the latest version wins.
 */
/** What an ingest call answers: each event's outcome in request order, and the alerts the call triggered (SPEC §16). */
export interface IngestAnswer {
  results: IngestResult[];
  alertsTriggered: Array<{ alert_id: string; customer_id: string }>;
}

/** Runs work after the response (the route's executionCtx.waitUntil); by default it just runs. */
export type Defer = (work: Promise<unknown>) => void;

/** How a request carries its events: one event, `{ events }`, or Metronome's array / Orb's `{ events }` on /v1/ingest. */
export type IngestShape = "single" | "batch" | "ingest";

/** The events of a body and the dialect they are in; a body of the wrong shape is a 400. */
function eventsOf(body: unknown, shape: IngestShape): { raw: unknown[]; dialect: Dialect } {
  if (shape === "single") return { raw: [body], dialect: "meterline" };
  if (shape === "ingest" && Array.isArray(body)) return { raw: body, dialect: "metronome" };
  const events = body !== null && typeof body === "object" ? (body as { events?: unknown }).events : undefined;
  if (Array.isArray(events)) return { raw: events, dialect: "meterline" };
  throw shape === "batch"
    ? new ApiError("parameter_missing", 'events is required: { "events": [ ... ] }', { param: "events" })
    : new ApiError("parameter_invalid", 'Send a JSON array of events (Metronome) or { "events": [...] } (Orb)');
}

/**
 * Validates every event, and stores none unless all are valid (SPEC §8). Then one ledger RPC per customer.
 * `first_wins` is Metronome's rule for a repeated transaction_id; ours is that the latest version wins.
 * NOTE: `auth` was checked before the body was read (requireIngestKey in http/auth.ts); the customer lookups below
 * send the key along, so a key revoked meanwhile still stops the request.
 */
export async function ingest(
  env: Env,
  auth: { caller: Caller; key: PresentedKey },
  body: unknown,
  shape: IngestShape,
  now: number,
  defer: Defer = (work) => void work,
): Promise<IngestAnswer> {
  const { caller, key } = auth;
  let fetched: CustomerHit[] | null = null;
  const { raw, dialect } = eventsOf(body, shape);
  if (raw.length === 0) throw new ApiError("parameter_invalid", "events must hold at least one event", { param: "events" });
  if (raw.length > MAX_BATCH) {
    throw new ApiError("parameter_invalid", `a batch holds at most ${MAX_BATCH} events; got ${raw.length}`, { param: "events" });
  }
  const errors: ErrorDetail[] = [];
  const parsed = raw.map((r, i) => parseOne(r, i, dialect, now, errors));
  const valid = parsed.filter((p): p is Parsed => p !== null);

  // NOTE: a reference the cache cannot answer sends the whole request to D1 once; unknown customers are never cached.
  const resolve = (hits: CustomerHit[] | null, ref: CustomerRef) => {
    const hit = cachedCustomer(caller, ref.by, ref.value, now) ?? (hits ? lookup(hits, ref) : undefined);
    if (hit) rememberCustomer(caller, ref.by, ref.value, hit, now);
    return hit;
  };
  let hitsOf = valid.map((p) => resolve(fetched, p.ref));
  if (fetched === null && hitsOf.some((h) => h === undefined)) {
    fetched = (await authenticateAndResolve(env, key, valid.map((p) => p.ref), now)).hits;
    hitsOf = valid.map((p, i) => hitsOf[i] ?? resolve(fetched, p.ref));
  }

  const byCustomer = new Map<string, { hit: CustomerHit; items: Parsed[] }>();
  valid.forEach((p, i) => {
    const hit = hitsOf[i];
    const param = p.ref.by === "external_id" ? "external_customer_id" : "customer_id";
    if (!hit) {
      errors.push({ index: p.index, param, code: "customer_not_found", message: "Customer not found" });
    } else if (hit.archived_at !== null) {
      errors.push({ index: p.index, param, code: "customer_archived", message: ARCHIVED });
    } else {
      const group = byCustomer.get(hit.id) ?? { hit, items: [] };
      group.items.push(p);
      byCustomer.set(hit.id, group);
    }
  });
  if (errors.length > 0) rejectBatch(errors.sort((a, b) => (a.index ?? 0) - (b.index ?? 0)), raw.length);

  const policy: DuplicatePolicy = dialect === "metronome" ? "first_wins" : "latest_wins";
  const results: IngestResult[] = new Array(raw.length);
  const alertsTriggered: IngestAnswer["alertsTriggered"] = [];
  const refuse = (items: Parsed[], code: ErrorCode, message: string) => {
    for (const p of items) errors.push({ index: p.index, param: p.ref.by === "external_id" ? "external_customer_id" : "customer_id", code, message });
  };
  const send = async (hit: CustomerHit, all: Parsed[], resolvedAgain: boolean): Promise<void> => {
    const who = { accountId: caller.accountId, mode: caller.mode, customerId: hit.id };
    // A sharded customer's events go to the shard their key routes to, all shards at once (docs/internals.md).
    const groups = byShard(all, hit.ledger_shards);
    const outcomes = await Promise.all(
      groups.map(([shard, items]) =>
        ledgerStub(env, caller, hit.id, shard).ingest({ ...who, shard }, hit.ledger_version, items.map((p) => p.event), policy, now, externalIdsOf(hit, items)),
      ),
    );
    const items: Parsed[] = [];
    let outcome: Exclude<IngestOutcome, { ok: true }> | null = null;
    for (const [g, out] of outcomes.entries()) {
      const group = groups[g]![1];
      if (!out.ok) {
        outcome ??= out;
        items.push(...group);
        continue;
      }
      out.results.forEach((r, i) => (results[group[i]!.index] = r));
      alertsTriggered.push(...out.alertsTriggered);
      // NOTE: an auto top-up this call bought, or a threshold invoice it finalized, is charged after the answer (the
      // auto-pay path); if the isolate dies first, the billing run's auto-pay finds the finalized invoice then.
      for (const invoiceId of out.chargeNow) defer(collectNow(env, caller, { id: invoiceId }, now));
    }
    if (outcome === null) return;
    // NOTE: only when the cache was older than a change to the customer: the ledger (or shard) that refused stored none
    // of its events, but other customers' ledgers, or the customer's other shards, may have stored theirs, which a
    // retry finds as duplicates (docs/api.md "Events").
    forgetCustomer(caller, hit.id);
    if (outcome.code === "customer_archived") return refuse(items, "customer_archived", ARCHIVED);
    if (resolvedAgain) {
      const why = outcome.code === "shard_moved" ? "ledger shards" : "external_id";
      return refuse(items, "customer_moved", `The customer's ${why} changed while the events were sent; send them again`);
    }
    // The external_id has moved (or the shard count was raised) since this isolate cached the customer: ask D1 again,
    // and send there (once).
    const { hits } = await authenticateAndResolve(env, key, items.map((p) => p.ref), now);
    const regrouped = new Map<string, { hit: CustomerHit; items: Parsed[] }>();
    for (const p of items) {
      const fresh = lookup(hits, p.ref);
      if (!fresh) refuse([p], "customer_not_found", "Customer not found");
      else if (fresh.archived_at !== null) refuse([p], "customer_archived", ARCHIVED);
      else {
        rememberCustomer(caller, p.ref.by, p.ref.value, fresh, now);
        const group = regrouped.get(fresh.id) ?? { hit: fresh, items: [] };
        group.items.push(p);
        regrouped.set(fresh.id, group);
      }
    }
    await Promise.all([...regrouped.values()].map((g) => send(g.hit, g.items, true)));
  };
  await Promise.all([...byCustomer.values()].map(({ hit, items }) => send(hit, items, false)));
  if (errors.length > 0) rejectBatch(errors.sort((a, b) => (a.index ?? 0) - (b.index ?? 0)), raw.length);
  return { results, alertsTriggered };
}

const ARCHIVED = "Customer is archived and takes no new events";

/** A customer's events grouped by the ledger shard their idempotency key routes to (one group when unsharded). */
function byShard(items: Parsed[], count: number): Array<[number, Parsed[]]> {
  if (count <= 1) return [[0, items]];
  const groups = new Map<number, Parsed[]>();
  for (const p of items) {
    const shard = shardOfKey(p.event.idempotencyKey, count);
    const group = groups.get(shard);
    if (group) group.push(p);
    else groups.set(shard, [p]);
  }
  return [...groups];
}

/** The external_ids these events named their customer by (none when they named it by its id), for its ledger to check. */
function externalIdsOf(hit: CustomerHit, items: Parsed[]): string[] {
  return [...new Set(items.flatMap((p) => (p.ref.value === hit.id ? [] : [p.ref.value])))];
}
