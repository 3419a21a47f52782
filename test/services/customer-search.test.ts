// The dashboard's customer search (listCustomers with a search term): a case-insensitive substring of name, email or
// external_id, with % and _ matched as themselves, paged like the list, within the caller's account and mode.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { listCustomers } from "../../src/services/customers";
import { call, newAccount } from "../support/api";

describe("customer search", () => {
  it("matches name, email or external_id case-insensitively, with % _ and \\ taken literally", async () => {
    const acct = await newAccount();
    const people = [
      { name: "ACME Corp", email: "ap@acme.example", external_id: "cus_001" },
      { name: "Acme Labs", email: null, external_id: "cus_002" },
      { name: "100% Juice", email: "billing@juice.example", external_id: "juice" },
      { name: "A_B Inc", email: null, external_id: "ab" },
      { name: "AxB Inc", email: null, external_id: "axb" },
      { name: "Back\\slash Ltd", email: null, external_id: "bs" },
      { name: "Zed", email: "owner@zed.example", external_id: "ZED-ACME-PARTNER" },
    ];
    for (const p of people) {
      const res = await call("POST", "/v1/customers", { key: acct.test, body: { ...p, ...(p.email ? {} : { email: undefined }) } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const caller = { accountId: acct.id, mode: "test" as const, apiKeyId: "" };
    const search = async (term: string, limit = 100) => {
      const page = await listCustomers(database(env.DB), caller, { limit }, term);
      return page.data.map((c) => c.name).sort();
    };
    expect(await search("acme")).toEqual(["ACME Corp", "Acme Labs", "Zed"]);
    expect(await search("JUICE.example")).toEqual(["100% Juice"]);
    expect(await search("cus_00")).toEqual(["ACME Corp", "Acme Labs"]);
    expect(await search("%")).toEqual(["100% Juice"]);
    expect(await search("A_B")).toEqual(["A_B Inc"]);
    // Unescaped, "_" would match every customer; here only names and external ids holding one ("cus_001").
    expect(await search("_")).toEqual(["ACME Corp", "A_B Inc", "Acme Labs"]);
    expect(await search("\\")).toEqual(["Back\\slash Ltd"]);
    expect(await search("nobody")).toEqual([]);

    // Pages through matches like the plain list.
    const first = await listCustomers(database(env.DB), caller, { limit: 2 }, "acme");
    expect(first.data).toHaveLength(2);
    const rest = await listCustomers(database(env.DB), caller, { limit: 2, cursor: first.next_cursor! }, "acme");
    expect([...first.data, ...rest.data].map((c) => c.name).sort()).toEqual(["ACME Corp", "Acme Labs", "Zed"]);
    expect(rest.next_cursor).toBeNull();

    // Neither live mode nor another account sees them.
    expect((await listCustomers(database(env.DB), { ...caller, mode: "live" }, { limit: 100 }, "acme")).data).toEqual([]);
    const other = await newAccount();
    expect((await listCustomers(database(env.DB), { ...caller, accountId: other.id }, { limit: 100 }, "acme")).data).toEqual([]);
  });
});
