// A ledger from before hourly rollups (schema 2) upgraded to today's: its backfilled hourly contributions must be reversible.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { ledgerName } from "../../src/ledger/customer-ledger";
import { call, newAccount } from "../support/api";

const runIn = runInDurableObject as unknown as (stub: unknown, fn: (instance: any, state: DurableObjectState) => unknown) => Promise<any>;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

it("backfilled hourly rollups of legacy events are taken back on replacement", async () => {
  const acct = await newAccount();
  const key = acct.test;
  expect((await call("POST", "/v1/meters", { key, body: { code: "SUM", event_name: "usage", aggregation: "sum", aggregation_property: "v" } })).status).toBe(201);
  const plan = await call("POST", "/v1/plans", { key, body: { name: "P", prices: [{ type: "usage", meter_code: "SUM", model: "per_unit", unit_price: "1" }] } });
  const customer = (await call("POST", "/v1/customers", { key, body: { name: "C" } })).body.id;
  const start = Date.now() - 48 * 3_600_000;
  expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer, plan_id: plan.body.id, start_date: iso(start) } })).status).toBe(201);
  const ts = iso(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000);
  const ev = (v: string) => ({ customer_id: customer, event_name: "usage", idempotency_key: "k1", timestamp: ts, properties: { v } });
  expect((await call("POST", "/v1/events", { key, body: ev("10") })).body.status).toBe("accepted");
  const stub = env.LEDGER.get(env.LEDGER.idFromName(ledgerName(acct.id, "test", customer)));
  // The shape of a ledger from before hourly rollups and events.contrib: a row per invoice contribution, no h: aggregates.
  await runIn(stub, (instance, state) => {
    const sql = state.storage.sql;
    for (const e of sql.exec<{ seq: number; ts: number; invoice_id: string; contrib: string }>("SELECT seq, ts, invoice_id, contrib FROM events WHERE billing_status = 'billed'").toArray()) {
      for (const [code, group, value] of JSON.parse(e.contrib)) {
        const agg = sql.exec<{ id: number }>("SELECT id FROM aggregates WHERE invoice_id = ? AND meter_code = ? AND group_key = ?", e.invoice_id, code, group).one();
        sql.exec("INSERT INTO contributions (agg_id, event_seq, value, value_real, ts) VALUES (?, ?, ?, ?, ?)", agg.id, e.seq, value, Number(value), e.ts);
      }
    }
    sql.exec("UPDATE events SET contrib = NULL");
    sql.exec("DELETE FROM distinct_values WHERE agg_id IN (SELECT id FROM aggregates WHERE invoice_id LIKE 'h:%')");
    sql.exec("DELETE FROM contributions WHERE agg_id IN (SELECT id FROM aggregates WHERE invoice_id LIKE 'h:%')");
    sql.exec("DELETE FROM aggregates WHERE invoice_id LIKE 'h:%'");
    sql.exec("DELETE FROM ledger_meta WHERE key = 'hourly_rollups'");
    instance.migrate(); // the upgrade: backfills the hourly rollups
  });
  expect(await runIn(stub, (i) => i.auditAggregates())).toEqual([]);
  expect((await call("POST", "/v1/events", { key, body: ev("3") })).body.status).toBe("replaced");
  const rows = await runIn(stub, (_i, state) => state.storage.sql.exec("SELECT a.invoice_id, c.value FROM contributions c JOIN aggregates a ON a.id = c.agg_id").toArray());
  console.log("rows after replace", JSON.stringify(rows));
  expect(await runIn(stub, (i) => i.auditAggregates())).toEqual([]);
});
