// The dashboard's home figures: billed this period, owed and overdue, failed payments, events today and the top
// customers by spend, per currency — D1's invoice index and event_activity, plus the ledgers for what only they hold.
import { and, asc, eq, gte, inArray, lt } from "drizzle-orm";
import { database, type Database } from "../db/client";
import { customers, eventActivity, invoices } from "../db/schema";
import { ACTIVITY_MINUTE_MS } from "../domain/event-activity";
import { Dec, formatAmount, parseDecimal, ZERO } from "../domain/money";
import type { Caller, Env } from "../env";
import { ledgerStub } from "../ledger/stub";
import { eachShard, shardHistories } from "./ledger-shards";

const DAY_MS = 86_400_000;
/** Ledgers asked at once. */
const FAN_OUT = 50;
/**
 * NOTE: live draft totals and event counts exist only in the customers' ledgers, one call each. Past this many
 * customers the figure is marked incomplete instead of making a page load cost thousands of Durable Object calls
 * (and the Worker's subrequest budget).
 */
export const MAX_LEDGER_READS = 200;
/** Rows shown in the failed-payment and overdue lists (their counts and sums cover every invoice). */
export const LIST_LIMIT = 10;
export const TOP_CUSTOMERS = 5;
/** D1 binds at most 100 parameters per statement. */
const CHUNK = 90;

/** Per currency: what the period billed so far, what is owed, and how much of it is past due. */
export interface CurrencyFigures {
  currency: string;
  /** Open draft totals, live from the ledgers. */
  drafts: string;
  /** Totals of invoices dated this calendar month (finalized or paid, not void). */
  invoiced: string;
  /** drafts + invoiced. */
  billed: string;
  /** amount_due of finalized, unpaid invoices. */
  due: string;
  dueCount: number;
  overdue: string;
  overdueCount: number;
}

export interface OwedInvoice {
  id: string;
  number: number | null;
  customerId: string;
  customerName: string;
  currency: string;
  amountDue: string;
  dueDate: number | null;
}

export interface TopCustomer {
  customerId: string;
  name: string;
  currency: string;
  /** Open draft total + invoices dated this month. */
  amount: string;
}

export interface Overview {
  now: number;
  monthStart: number;
  dayStart: number;
  currencies: CurrencyFigures[];
  /** Finalized invoices whose last charge failed, oldest due first (up to LIST_LIMIT), and how many there are. */
  failed: { count: number; invoices: OwedInvoice[] };
  /** Finalized invoices past their due date, oldest due first (up to LIST_LIMIT). */
  overdue: OwedInvoice[];
  /** Events whose timestamp falls on today (UTC), and how many customers sent them. */
  eventsToday: { count: number; customers: number; complete: boolean };
  /** The largest spenders this period, up to TOP_CUSTOMERS per currency, largest first. */
  topCustomers: TopCustomer[];
  /** False when more customers had open drafts than MAX_LEDGER_READS: draft sums then cover only some of them. */
  draftsComplete: boolean;
}

/** Midnight UTC of the first day of `now`'s month, and of the next month. */
export function monthBounds(now: number): [number, number] {
  const d = new Date(now);
  return [Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)];
}

/** Sums exact decimal strings by key. */
class Sums {
  private readonly map = new Map<string, Dec>();
  add(key: string, amount: string | Dec) {
    this.map.set(key, (this.map.get(key) ?? ZERO).plus(typeof amount === "string" ? parseDecimal(amount) : amount));
  }
  get(key: string): Dec {
    return this.map.get(key) ?? ZERO;
  }
  entries() {
    return this.map.entries();
  }
}

/** `read` for every item, FAN_OUT at a time. */
async function fanOut<T, R>(items: T[], read: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += FAN_OUT) out.push(...(await Promise.all(items.slice(i, i + FAN_OUT).map(read))));
  return out;
}

async function namesOf(db: Database, caller: Caller, ids: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  const names = new Map<string, string>();
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = await db
      .select({ id: customers.id, name: customers.name })
      .from(customers)
      .where(and(eq(customers.accountId, caller.accountId), eq(customers.mode, caller.mode), inArray(customers.id, unique.slice(i, i + CHUNK))));
    for (const r of rows) names.set(r.id, r.name);
  }
  return names;
}

export async function overview(env: Env, caller: Caller, now: number): Promise<Overview> {
  const db = database(env.DB);
  const [monthStart, nextMonth] = monthBounds(now);
  const dayStart = Math.floor(now / DAY_MS) * DAY_MS;
  const scope = and(eq(invoices.accountId, caller.accountId), eq(invoices.mode, caller.mode));
  // One round trip: open drafts, unpaid invoices, invoices dated this month, and today's active customers.
  const [drafts, unpaid, dated, active] = await db.batch([
    db.select({ id: invoices.id, customerId: invoices.customerId }).from(invoices).where(and(scope, eq(invoices.status, "draft"))),
    db
      .select({
        id: invoices.id,
        number: invoices.number,
        customerId: invoices.customerId,
        currency: invoices.currency,
        amountDue: invoices.amountDue,
        total: invoices.total,
        dueDate: invoices.dueDate,
        paymentStatus: invoices.paymentStatus,
      })
      .from(invoices)
      .where(and(scope, eq(invoices.status, "finalized")))
      .orderBy(asc(invoices.dueDate), asc(invoices.number)),
    db
      .select({ customerId: invoices.customerId, currency: invoices.currency, total: invoices.total })
      .from(invoices)
      .where(
        and(
          scope,
          inArray(invoices.status, ["finalized", "paid"]),
          gte(invoices.invoiceDate, monthStart),
          lt(invoices.invoiceDate, nextMonth),
        ),
      ),
    db
      .selectDistinct({ customerId: eventActivity.customerId })
      .from(eventActivity)
      .where(
        and(
          eq(eventActivity.accountId, caller.accountId),
          eq(eventActivity.mode, caller.mode),
          gte(eventActivity.minute, dayStart / ACTIVITY_MINUTE_MS),
          lt(eventActivity.minute, (dayStart + DAY_MS) / ACTIVITY_MINUTE_MS),
        ),
      )
      .orderBy(eventActivity.customerId),
  ]);

  // Live draft totals, one ledger call per customer with a draft.
  const draftIds = new Map<string, string[]>();
  for (const d of drafts) draftIds.set(d.customerId, [...(draftIds.get(d.customerId) ?? []), d.id]);
  const draftCustomers = [...draftIds.keys()].sort();
  const views = (
    await fanOut(draftCustomers.slice(0, MAX_LEDGER_READS), (cid) => ledgerStub(env, caller, cid).getInvoices(draftIds.get(cid)!))
  ).flat();

  const draftSums = new Sums();
  const invoicedSums = new Sums();
  const spend = new Sums();
  const key = (customerId: string, currency: string) => `${currency} ${customerId}`;
  // NOTE: D1 shows an invoice the ledger has locked but not yet numbered as a draft; the ledger's view is the truth.
  for (const v of views.filter((v) => v.status === "draft")) {
    draftSums.add(v.currency, v.total);
    spend.add(key(v.customer_id, v.currency), v.total);
  }
  for (const r of dated) {
    invoicedSums.add(r.currency, r.total ?? "0");
    spend.add(key(r.customerId, r.currency), r.total ?? "0");
  }

  const dueSums = new Sums();
  const overdueSums = new Sums();
  const dueCounts = new Map<string, number>();
  const overdueCounts = new Map<string, number>();
  const overdueRows: typeof unpaid = [];
  for (const r of unpaid) {
    const owed = r.amountDue ?? r.total ?? "0";
    dueSums.add(r.currency, owed);
    dueCounts.set(r.currency, (dueCounts.get(r.currency) ?? 0) + 1);
    if (r.dueDate !== null && r.dueDate < now) {
      overdueSums.add(r.currency, owed);
      overdueCounts.set(r.currency, (overdueCounts.get(r.currency) ?? 0) + 1);
      overdueRows.push(r);
    }
  }
  const failedRows = unpaid.filter((r) => r.paymentStatus === "failed");

  // Events today: each active customer's ledger counts its events of the day.
  const activeCustomers = active.map((a) => a.customerId);
  const read = activeCustomers.slice(0, MAX_LEDGER_READS);
  // A sharded customer's events are counted by each of its shards (ledger-shards.ts).
  const histories = await shardHistories(database(env.DB), caller, read);
  const counts = await fanOut(read, (cid) =>
    eachShard(env, caller, cid, histories.get(cid) ?? [1], (ledger) => ledger.dailyEventCounts(dayStart, dayStart, dayStart + DAY_MS, DAY_MS)),
  );
  const eventCount = counts.flat(2).reduce((n, r) => n + r.n, 0);

  const ranked: Array<{ customerId: string; currency: string; amount: Dec }> = [];
  for (const [k, amount] of spend.entries()) {
    const [currency, customerId] = k.split(" ") as [string, string];
    if (amount.gt(0)) ranked.push({ customerId, currency, amount });
  }
  ranked.sort((a, b) => (a.currency !== b.currency ? (a.currency < b.currency ? -1 : 1) : b.amount.comparedTo(a.amount)));
  const perCurrency = new Map<string, number>();
  const top = ranked.filter((r) => {
    const n = perCurrency.get(r.currency) ?? 0;
    perCurrency.set(r.currency, n + 1);
    return n < TOP_CUSTOMERS;
  });

  const failedShown = failedRows.slice(0, LIST_LIMIT);
  const overdueShown = overdueRows.slice(0, LIST_LIMIT);
  const names = await namesOf(db, caller, [...top.map((t) => t.customerId), ...failedShown.map((r) => r.customerId), ...overdueShown.map((r) => r.customerId)]);
  const owed = (r: (typeof unpaid)[number]): OwedInvoice => ({
    id: r.id,
    number: r.number,
    customerId: r.customerId,
    customerName: names.get(r.customerId) ?? r.customerId.slice(0, 8),
    currency: r.currency,
    amountDue: formatAmount(r.amountDue ?? r.total ?? "0", r.currency),
    dueDate: r.dueDate,
  });

  const currencyCodes = [...new Set([...[...draftSums.entries()].map(([c]) => c), ...[...invoicedSums.entries()].map(([c]) => c), ...dueCounts.keys()])].sort();
  return {
    now,
    monthStart,
    dayStart,
    currencies: currencyCodes.map((currency) => ({
      currency,
      drafts: formatAmount(draftSums.get(currency), currency),
      invoiced: formatAmount(invoicedSums.get(currency), currency),
      billed: formatAmount(draftSums.get(currency).plus(invoicedSums.get(currency)), currency),
      due: formatAmount(dueSums.get(currency), currency),
      dueCount: dueCounts.get(currency) ?? 0,
      overdue: formatAmount(overdueSums.get(currency), currency),
      overdueCount: overdueCounts.get(currency) ?? 0,
    })),
    failed: { count: failedRows.length, invoices: failedShown.map(owed) },
    overdue: overdueShown.map(owed),
    eventsToday: { count: eventCount, customers: activeCustomers.length, complete: activeCustomers.length <= MAX_LEDGER_READS },
    topCustomers: top.map((t) => ({
      customerId: t.customerId,
      name: names.get(t.customerId) ?? t.customerId.slice(0, 8),
      currency: t.currency,
      amount: formatAmount(t.amount, t.currency),
    })),
    draftsComplete: draftCustomers.length <= MAX_LEDGER_READS,
  };
}
