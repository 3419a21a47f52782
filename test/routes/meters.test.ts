import { describe, expect, it } from "vitest";
import { call, expectError, newAccount } from "../support/api";

const apiCall = { code: "API_CALL", event_name: "call_count", display_name: "API Calls", aggregation: "count" };

describe("meters", () => {
  it("creates the seeds' meters and reads them by id and code", async () => {
    const acct = await newAccount();
    const created = await call("POST", "/v1/meters", { key: acct.test, body: apiCall });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...apiCall, aggregation_property: null, filters: [], group_by: [], livemode: false });

    const transfer = await call("POST", "/v1/meters", {
      key: acct.test,
      body: { code: "TRANSFER_GB", eventName: "transfer", aggregation: "sum", aggregationProperty: "bytes", groupBy: ["region"] },
    });
    expect(transfer.status).toBe(201);
    expect(transfer.body).toMatchObject({ display_name: "TRANSFER_GB", aggregation_property: "bytes", group_by: ["region"] });

    const filtered = await call("POST", "/v1/meters", {
      key: acct.test,
      body: {
        code: "PAID_CALLS",
        event_name: "call_count",
        aggregation: "unique_count",
        aggregation_property: "user_id",
        filters: [
          { property: "tier", operator: "in", value: ["pro", "team"] },
          { property: "internal", operator: "neq", value: true },
          { property: "endpoint", operator: "exists" },
        ],
      },
    });
    expect(filtered.status).toBe(201);
    expect(filtered.body.filters).toHaveLength(3);

    expect((await call("GET", `/v1/meters/${created.body.id}`, { key: acct.test })).body.code).toBe("API_CALL");
    expect((await call("GET", "/v1/meters/TRANSFER_GB", { key: acct.test })).body.id).toBe(transfer.body.id);
    const byEvent = await call("GET", "/v1/meters?event_name=call_count", { key: acct.test });
    expect(byEvent.body.data.map((m: any) => m.code).sort()).toEqual(["API_CALL", "PAID_CALLS"]);

    const renamed = await call("PATCH", "/v1/meters/API_CALL", { key: acct.test, body: { display_name: "Calls" } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ display_name: "Calls", aggregation: "count" });
  });

  it("accepts every aggregation", async () => {
    const acct = await newAccount();
    for (const aggregation of ["sum", "max", "min", "average", "unique_count", "latest"]) {
      const res = await call("POST", "/v1/meters", {
        key: acct.test,
        body: { code: `M_${aggregation}`, event_name: "e", aggregation, aggregation_property: "v" },
      });
      expect(res.status, aggregation).toBe(201);
    }
  });

  it("accepts Monigo's aggregation names and answers with the canonical ones", async () => {
    const acct = await newAccount();
    for (const [alias, canonical] of [["minimum", "min"], ["maximum", "max"], ["unique", "unique_count"]]) {
      const res = await call("POST", "/v1/meters", { key: acct.test, body: { code: `M_${alias}`, event_name: "e", aggregation: alias, aggregation_property: "v" } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.aggregation).toBe(canonical);
      expect((await call("GET", `/v1/meters/M_${alias}`, { key: acct.test })).body.aggregation).toBe(canonical);
    }
    // Aliases are rules like their canonical names: a property is still required.
    expectError(await call("POST", "/v1/meters", { key: acct.test, body: { code: "NO_PROP", event_name: "e", aggregation: "maximum" } }), 400, "parameter_missing", "aggregation_property");
    const bad = await call("POST", "/v1/meters", { key: acct.test, body: { code: "BAD", event_name: "e", aggregation: "Minimum", aggregation_property: "v" } });
    expectError(bad, 400, "parameter_invalid", "aggregation");
    expect(bad.body.error.message).toContain("minimum, maximum, unique");
    // The OpenAPI document shows the canonical names only, and names the aliases.
    const doc = (await call("GET", "/openapi.json")).body;
    const schema = doc.components.schemas.CreateMeterRequest.properties.aggregation;
    expect(schema.enum).toEqual(["count", "sum", "max", "min", "average", "unique_count", "latest"]);
    expect(schema.description).toContain("minimum");
  });

  it("rejects bad meters and writes nothing", async () => {
    const acct = await newAccount();
    const bad: Array<[unknown, string, string]> = [
      [{ ...apiCall, code: undefined }, "parameter_missing", "code"],
      [{ ...apiCall, code: "has space" }, "parameter_invalid", "code"],
      [{ ...apiCall, event_name: 7 }, "parameter_invalid", "event_name"],
      [{ ...apiCall, aggregation: "median" }, "parameter_invalid", "aggregation"],
      [{ ...apiCall, aggregation: "sum" }, "parameter_missing", "aggregation_property"],
      [{ ...apiCall, aggregation_property: "x" }, "parameter_invalid", "aggregation_property"],
      [{ ...apiCall, filters: [{ property: "p", operator: "like", value: "x" }] }, "parameter_invalid", "filters[0].operator"],
      [{ ...apiCall, filters: [{ property: "p", operator: "in", value: [] }] }, "parameter_invalid", "filters[0].value"],
      [{ ...apiCall, filters: [{ property: "p", operator: "eq" }] }, "parameter_missing", "filters[0].value"],
      [{ ...apiCall, filters: [{ property: "p", operator: "exists", value: 1 }] }, "parameter_unknown", "filters[0].value"],
      [{ ...apiCall, group_by: ["a", "a"] }, "parameter_invalid", "group_by"],
      [{ ...apiCall, colour: "red" }, "parameter_unknown", "colour"],
      [{ ...apiCall, event_name: "x", eventName: "y" }, "parameter_invalid", "eventName"],
    ];
    for (const [body, code, param] of bad) {
      expectError(await call("POST", "/v1/meters", { key: acct.test, body }), 400, code, param);
    }
    expectError(await call("POST", "/v1/meters", { key: acct.test, rawBody: "{oops" }), 400, "invalid_json");
    expect((await call("GET", "/v1/meters", { key: acct.test })).body.data).toEqual([]);

    expect((await call("POST", "/v1/meters", { key: acct.test, body: apiCall })).status).toBe(201);
    expectError(await call("POST", "/v1/meters", { key: acct.test, body: apiCall }), 409, "meter_code_taken", "code");
    expectError(await call("GET", "/v1/meters/NOPE", { key: acct.test }), 404, "meter_not_found");
    expectError(await call("PATCH", "/v1/meters/NOPE", { key: acct.test, body: { display_name: "x" } }), 404, "meter_not_found");
    expectError(await call("PATCH", "/v1/meters/API_CALL", { key: acct.test, body: { aggregation: "sum" } }), 400, "parameter_unknown");
    expect((await call("GET", "/v1/meters", { key: acct.test })).body.data).toHaveLength(1);
  });

  it("isolates accounts and modes", async () => {
    const a = await newAccount("A");
    const b = await newAccount("B");
    const meter = (await call("POST", "/v1/meters", { key: a.test, body: apiCall })).body;
    expectError(await call("GET", "/v1/meters"), 401, "authentication_required");
    for (const key of [a.live, b.test, b.live]) {
      expectError(await call("GET", `/v1/meters/${meter.id}`, { key }), 404, "meter_not_found");
      expectError(await call("GET", "/v1/meters/API_CALL", { key }), 404, "meter_not_found");
      expectError(await call("PATCH", `/v1/meters/${meter.id}`, { key, body: { display_name: "x" } }), 404, "meter_not_found");
      expect((await call("GET", "/v1/meters", { key })).body.data).toEqual([]);
    }
    // Codes are unique per account and mode only.
    expect((await call("POST", "/v1/meters", { key: a.live, body: apiCall })).status).toBe(201);
    expect((await call("POST", "/v1/meters", { key: b.test, body: apiCall })).status).toBe(201);
    expect((await call("GET", "/v1/meters/API_CALL", { key: a.test })).body.display_name).toBe("API Calls");
  });
});
