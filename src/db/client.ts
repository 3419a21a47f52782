// The one way to reach D1: a drizzle handle over the binding (query builder, `sql` for what it cannot express).
import type { BatchItem } from "drizzle-orm/batch";
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Database = ReturnType<typeof build>;

function build(d1: D1Database) {
  return drizzle(d1, { schema });
}

// NOTE: one handle per binding and isolate, not per request: drizzle keeps no per-request state over D1 (no
// transactions), and building one walks the whole schema, which auth would otherwise pay on every request.
const handles = new WeakMap<D1Database, Database>();

export function database(d1: D1Database): Database {
  let db = handles.get(d1);
  if (!db) handles.set(d1, (db = build(d1)));
  return db;
}

/** One statement of a D1 batch: a drizzle query built but not awaited. */
export type Statement = BatchItem<"sqlite">;

/**
 * Runs statements gathered from several modules as one D1 batch (one transaction, one round trip), in order.
 * Each answer is what awaiting that statement alone gives: a D1Result (`meta.changes`) for a write without
 * `returning()`, rows otherwise.
 */
export async function runBatch(db: Database, statements: Statement[]): Promise<unknown[]> {
  if (statements.length === 0) return [];
  return db.batch(statements as [Statement, ...Statement[]]);
}

/** Rows a write changed, from its answer in `runBatch` or from awaiting it. */
export function changesOf(result: unknown): number {
  return (result as D1Result).meta.changes;
}
