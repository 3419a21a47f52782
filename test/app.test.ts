// The live OpenAPI document: named operations, a server, the ingestion bodies as components whose examples the API
// accepts, and docs/openapi.json kept equal to it (the Node-side lint and type-generation test reads that file).
import { describe, expect, it } from "vitest";
import { EVENT_ALIASES } from "../src/schemas/events";
import { WEBHOOK_EVENT_TYPES } from "../src/webhooks/event-types";
import { call, newAccount } from "./support/api";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

async function liveDocument() {
  const res = await call("GET", "/openapi.json");
  expect(res.status).toBe(200);
  return res.body;
}

function operations(doc: any): Array<{ method: string; path: string; op: any }> {
  return Object.entries(doc.paths as Record<string, any>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ method, path, op: item[method] })),
  );
}

describe("the OpenAPI document", () => {
  it("names every operation once, in camelCase", async () => {
    const ops = operations(await liveDocument());
    expect(ops.length).toBeGreaterThan(50);
    const missing = ops.filter(({ op }) => typeof op.operationId !== "string").map(({ method, path }) => `${method} ${path}`);
    expect(missing).toEqual([]);
    const ids = ops.map(({ op }) => op.operationId as string);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect(ids.filter((id) => !/^[a-z][a-zA-Z]*$/.test(id))).toEqual([]);
    const byRoute = Object.fromEntries(ops.map(({ method, path, op }) => [`${method} ${path}`, op.operationId]));
    expect(byRoute).toMatchObject({
      "post /v1/customers": "createCustomer",
      "get /v1/customers": "listCustomers",
      "get /v1/customers/{id}": "retrieveCustomer",
      "post /v1/events": "sendEvent",
      "post /v1/events/batch": "sendEventBatch",
      "post /v1/ingest": "ingestEvents",
      "get /v1/invoices/{id}": "retrieveInvoice",
    });
  });

  it("has a relative server, so it is right on wrangler dev and on every deployment", async () => {
    const doc = await liveDocument();
    expect(doc.servers).toEqual([{ url: "/", description: expect.any(String) }]);
  });

  it("documents the ingestion bodies as named components, with every camelCase alias", async () => {
    const doc = await liveDocument();
    const schemas = doc.components.schemas;
    const body = (path: string) => doc.paths[path].post.requestBody.content["application/json"].schema;
    expect(body("/v1/events")).toEqual({ $ref: "#/components/schemas/Event" });
    expect(body("/v1/events/batch")).toEqual({ $ref: "#/components/schemas/EventBatch" });
    expect(body("/v1/ingest")).toEqual({ oneOf: [{ $ref: "#/components/schemas/MetronomeIngest" }, { $ref: "#/components/schemas/OrbIngest" }] });
    expect(schemas.EventBatch.properties.events.items).toEqual({ $ref: "#/components/schemas/Event" });
    expect(schemas.OrbIngest.properties.events.items).toEqual({ $ref: "#/components/schemas/Event" });
    expect(schemas.MetronomeIngest.items).toEqual({ $ref: "#/components/schemas/MetronomeEvent" });
    expect(schemas.MetronomeEvent.required).toEqual(expect.arrayContaining(["customer_id", "event_type", "timestamp", "transaction_id"]));

    const [fields] = schemas.Event.allOf;
    for (const [alias, field] of Object.entries(EVENT_ALIASES)) {
      expect(Object.keys(fields.properties)).toEqual(expect.arrayContaining([alias, field]));
      expect(fields.properties[alias].description).toContain(field);
    }
    expect(fields.additionalProperties).toBe(false);

    for (const [path, name] of [
      ["/v1/events", "EventAccepted"],
      ["/v1/events/batch", "EventBatchAccepted"],
      ["/v1/ingest", "OrbIngestAccepted"],
    ] as const) {
      const ok = Object.entries(doc.paths[path].post.responses as Record<string, any>).find(([status]) => status.startsWith("2"))!;
      expect(ok[1].content["application/json"].schema).toEqual({ $ref: `#/components/schemas/${name}` });
    }
  });

  it("shows examples the API accepts, in either spelling", async () => {
    const schemas = (await liveDocument()).components.schemas;
    const acct = await newAccount();
    // The examples name their customers by external_id, which is what a reader's own customers will have.
    for (const externalId of [schemas.Event.example.customer_id, schemas.MetronomeIngest.example[0].customer_id]) {
      expect((await call("POST", "/v1/customers", { key: acct.test, body: { name: externalId, external_id: externalId } })).status).toBe(201);
    }
    const send = (path: string, body: unknown) => call("POST", path, { key: acct.test, body });
    expect((await send("/v1/events", schemas.Event.example)).status).toBe(202);
    expect((await send("/v1/events/batch", schemas.EventBatch.example)).status).toBe(202);
    expect((await send("/v1/ingest", schemas.MetronomeIngest.example)).status).toBe(200);
    expect((await send("/v1/ingest", schemas.OrbIngest.example)).status).toBe(200);

    const camel = Object.fromEntries(
      Object.entries(schemas.Event.example as Record<string, unknown>).map(([field, value]) => [
        Object.entries(EVENT_ALIASES).find(([, f]) => f === field)?.[0] ?? field,
        value,
      ]),
    );
    expect(Object.keys(camel)).toEqual(expect.arrayContaining(["customerId", "eventName"]));
    expect((await send("/v1/events", camel)).status).toBe(202);
  });

  it("renders the event bodies on /docs, fields and aliases included", async () => {
    const page = await call("GET", "/docs");
    expect(page.status).toBe(200);
    const html = page.body as string;
    expect(html).toContain("Body: MetronomeIngest | OrbIngest");
    const event = html.slice(html.indexOf('id="schema-Event"'));
    for (const field of ["event_name", "eventName", "external_customer_id", "externalCustomerId"]) expect(event).toContain(`<code>${field}</code>`);
  });

  it("documents every outgoing webhook with its envelope, signature headers and object", async () => {
    const doc = await liveDocument();
    expect(Object.keys(doc.webhooks).sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
    const alert = doc.webhooks["alert.triggered"].post;
    expect(alert.parameters.map((p: any) => p.name).sort()).toEqual(["webhook-id", "webhook-signature", "webhook-timestamp"]);
    const envelope = doc.components.schemas[alert.requestBody.content["application/json"].schema.$ref.split("/").pop()];
    expect(envelope.properties.type).toMatchObject({ type: "string", enum: ["alert.triggered"] });
    expect(envelope.properties.data.properties.object.$ref).toBe("#/components/schemas/AlertEvent");
    const paid = doc.webhooks["invoice.paid"].post.requestBody.content["application/json"].schema.$ref.split("/").pop();
    expect(doc.components.schemas[paid].properties.data.properties.object.$ref).toBe("#/components/schemas/Invoice");
  });

  it("is what docs/openapi.json holds", async () => {
    const doc = await liveDocument();
    await expect(`${JSON.stringify(doc, null, 2)}\n`).toMatchFileSnapshot(
      "../docs/openapi.json",
      "docs/openapi.json is older than the live document: run `npm run openapi` and commit it",
    );
  });
});
