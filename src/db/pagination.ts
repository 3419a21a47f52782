// Cursor pagination, newest first: an opaque cursor holds the (created_at, id) of the last row returned.
import { and, desc, eq, lt, or, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { ApiError } from "../errors";

interface Cursor {
  t: number;
  id: string;
}

export const DEFAULT_LIMIT = 20;

function encodeCursor(c: Cursor): string {
  return btoa(JSON.stringify([c.t, c.id])).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeCursor(raw: string): Cursor {
  try {
    const [t, id] = JSON.parse(atob(raw.replace(/-/g, "+").replace(/_/g, "/"))) as unknown[];
    if (typeof t === "number" && Number.isSafeInteger(t) && typeof id === "string") return { t, id };
  } catch {
    // fall through to the 400 below
  }
  throw new ApiError("invalid_cursor", "cursor is not one this API returned", { param: "cursor" });
}

export interface PageColumns {
  createdAt: SQLiteColumn;
  id: SQLiteColumn;
}

/** WHERE fragment and ORDER BY for one page; fetch `limit + 1` rows to learn whether more exist. */
export function pageQuery(columns: PageColumns, cursor: string | undefined, limit: number | undefined) {
  const size = limit ?? DEFAULT_LIMIT;
  let where: SQL | undefined;
  if (cursor) {
    const c = decodeCursor(cursor);
    where = or(lt(columns.createdAt, c.t), and(eq(columns.createdAt, c.t), lt(columns.id, c.id)));
  }
  return { where, orderBy: [desc(columns.createdAt), desc(columns.id)], fetch: size + 1, size };
}

/** The list envelope of SPEC §2 from `size + 1` fetched rows. */
export function pageOf<Row extends { createdAt: number; id: string }, Out>(
  rows: Row[],
  size: number,
  serialize: (row: Row) => Out,
): { data: Out[]; has_more: boolean; next_cursor: string | null } {
  const hasMore = rows.length > size;
  const items = hasMore ? rows.slice(0, size) : rows;
  const last = items[items.length - 1];
  return {
    data: items.map(serialize),
    has_more: hasMore,
    next_cursor: hasMore && last ? encodeCursor({ t: last.createdAt, id: last.id }) : null,
  };
}
