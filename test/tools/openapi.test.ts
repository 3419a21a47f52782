// docs/openapi.json (the live document: test/app.test.ts fails when it is stale) passes Redocly's recommended
// rules, and the types openapi-typescript generates from it carry a small typed client through the TypeScript compiler.
import { createConfig, lintFromString } from "@redocly/openapi-core";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";

const DOCUMENT = decodeURIComponent(new URL("../../docs/openapi.json", (import.meta as unknown as { url: string }).url).pathname);

/**
 * Warnings accepted, each for a reason: Meterline has no licence to name (a private product), and /health answers 200
 * or nothing (it reads no input, so there is no 4xx to document). Anything else fails the test, so they do not pile up.
 */
const ACCEPTED_WARNINGS = ["info-license #/info", "operation-4xx-response #/paths/~1health/get/responses"];

/**
 * A client of the kind a user would write: each call named by its operationId, its body and answer typed from the
 * document. Each `@ts-expect-error` is a body the API refuses; should a body be documented as anything-goes, the
 * directive goes unused and the compile fails, as it does if an answer or an operationId goes missing.
 */
const CLIENT = `
import type { operations, paths } from "./meterline-api";

/** The slice of fetch this client uses (the compile has no DOM library to take it from). */
declare function fetch(
  url: string,
  init: { method: string; headers: Record<string, string>; body: string | undefined },
): Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

type JsonOf<T> = T extends { content: { "application/json": infer J } } ? J : never;
type BodyOf<K extends keyof operations> = operations[K] extends { requestBody: infer B } ? JsonOf<B> : never;
type Answer<K extends keyof operations> = {
  [S in keyof operations[K]["responses"]]: S extends 200 | 201 | 202 ? JsonOf<operations[K]["responses"][S]> : never;
}[keyof operations[K]["responses"]];
type PathOf<K extends keyof operations> = operations[K]["parameters"] extends { path: infer P } ? P : never;

/** Where each operation lives; checked against the document's paths, so a renamed path or operation fails to compile. */
const routes = {
  createCustomer: ["post", "/v1/customers"],
  sendEvent: ["post", "/v1/events"],
  sendEventBatch: ["post", "/v1/events/batch"],
  ingestEvents: ["post", "/v1/ingest"],
  retrieveUpcomingInvoice: ["get", "/v1/customers/{id}/upcoming_invoice"],
  retrieveInvoice: ["get", "/v1/invoices/{id}"],
} as const;
type Routed<K extends keyof typeof routes> = paths[(typeof routes)[K][1]][(typeof routes)[K][0]];
const sameOperations: { [K in keyof typeof routes]: Routed<K> extends operations[K] ? (operations[K] extends Routed<K> ? true : false) : false } = {
  createCustomer: true,
  sendEvent: true,
  sendEventBatch: true,
  ingestEvents: true,
  retrieveUpcomingInvoice: true,
  retrieveInvoice: true,
};

export function meterline(baseUrl: string, apiKey: string) {
  return async function call<K extends keyof typeof routes>(
    operation: K,
    input: { path?: PathOf<K>; body?: BodyOf<K> },
  ): Promise<Answer<K>> {
    const [method, template] = routes[operation];
    const params = (input.path ?? {}) as Record<string, string>;
    const url = template.replace(/{(\\w+)}/g, (_, name: string) => encodeURIComponent(params[name] ?? ""));
    const res = await fetch(baseUrl + url, {
      method: method.toUpperCase(),
      headers: { Authorization: "Bearer " + apiKey, "Content-Type": "application/json" },
      body: input.body === undefined ? undefined : JSON.stringify(input.body),
    });
    if (!res.ok) throw new Error(operation + " answered " + res.status);
    return (await res.json()) as Answer<K>;
  };
}

export async function monthOfUsage(api: ReturnType<typeof meterline>) {
  const customer = await api("createCustomer", { body: { name: "Acme", external_id: "acme" } });
  const id: string = customer.id;
  const batch = await api("sendEventBatch", {
    body: {
      events: [
        { customer_id: id, event_name: "api_call", properties: { endpoint: "/users", bytes: 512, cached: false } },
        { externalCustomerId: "acme", eventName: "api_call", idempotencyKey: "call-2", timestamp: "2026-03-01T12:00:00Z" },
      ],
    },
  });
  const statuses: Array<"accepted" | "duplicate" | "replaced"> = batch.events.map((e) => e.status);
  const accepted: number = batch.accepted;
  await api("sendEvent", { body: { external_customer_id: "acme", event_name: "api_call" } });
  await api("ingestEvents", {
    body: [{ customer_id: "acme", event_type: "transfer", timestamp: "2026-03-01T12:34:56Z", transaction_id: "t-1", properties: { bytes: "5000" } }],
  });
  await api("ingestEvents", { body: { events: [{ customer_id: id, event_name: "api_call" }] } });
  const draft = await api("retrieveUpcomingInvoice", { path: { id } });
  const invoice = await api("retrieveInvoice", { path: { id: draft.id } });
  const total: string = invoice.total;
  const lines: number = invoice.line_items.length;

  // @ts-expect-error an event's name is a string
  await api("sendEvent", { body: { customer_id: id, event_name: 42 } });
  // @ts-expect-error an event names its customer
  await api("sendEvent", { body: { event_name: "api_call" } });
  // @ts-expect-error an event has a name
  await api("sendEvent", { body: { customer_id: id } });
  // @ts-expect-error property values are strings, numbers or booleans, not objects
  await api("sendEvent", { body: { customer_id: id, event_name: "api_call", properties: { nested: { deep: 1 } } } });
  // @ts-expect-error there is no such field
  await api("sendEvent", { body: { customer_id: id, event_name: "api_call", colour: "red" } });
  // @ts-expect-error a batch is { events }, not a bare array
  await api("sendEventBatch", { body: [{ customer_id: id, event_name: "api_call" }] });
  // @ts-expect-error a Metronome event carries its transaction_id
  await api("ingestEvents", { body: [{ customer_id: "acme", event_type: "transfer", timestamp: "2026-03-01T12:34:56Z" }] });
  // @ts-expect-error a customer has a name
  await api("createCustomer", { body: { external_id: "nameless" } });
  return { statuses, accepted, total, lines, sameOperations };
}
`;

const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  noUncheckedIndexedAccess: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ["lib.es2022.d.ts"],
  types: [],
  // The standard library is not what is under test; the generated types and the client are checked in full.
  skipLibCheck: true,
};

/** The installed TypeScript's lib files, parsed once for every compile below. */
const libFiles = new Map<string, ts.SourceFile | undefined>();

/** Compiles the generated types and the client in memory. */
function typeCheck(generated: string, client: string): string[] {
  const dir = "/meterline-client";
  const files = new Map([
    [`${dir}/meterline-api.ts`, generated],
    [`${dir}/client.ts`, client],
  ]);
  const host = ts.createCompilerHost(COMPILER_OPTIONS);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) => {
    const text = files.get(name);
    if (text !== undefined) return ts.createSourceFile(name, text, version);
    if (!libFiles.has(name)) libFiles.set(name, getSourceFile(name, version, ...rest));
    return libFiles.get(name);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => files.has(name) || fileExists(name);
  const directoryExists = host.directoryExists?.bind(host);
  host.directoryExists = (name) => name === dir || (directoryExists?.(name) ?? false);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => files.get(name) ?? readFile(name);
  const program = ts.createProgram([`${dir}/client.ts`], COMPILER_OPTIONS, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const line = where ? `${d.file!.fileName}:${where.line + 1}: ` : "";
    return line + ts.flattenDiagnosticMessageText(d.messageText, "\n");
  });
}

async function typesOf(doc: unknown): Promise<string> {
  return astToString(await openapiTS(JSON.parse(JSON.stringify(doc))));
}

let source: string;
let doc: any;

beforeAll(() => {
  const text = ts.sys.readFile(DOCUMENT);
  if (text === undefined) throw new Error(`${DOCUMENT} is missing: run \`npm run openapi\``);
  source = text;
  doc = JSON.parse(text);
});

describe("docs/openapi.json", () => {
  it("passes Redocly's recommended rules with no errors, and its schema examples fit their schemas", async () => {
    // Examples are what readers paste: one that the schema refuses is an error here, not just off as in recommended.
    const config = await createConfig({ extends: ["recommended"], rules: { "no-invalid-schema-examples": "error" } });
    const problems = await lintFromString({ source, absoluteRef: DOCUMENT, config });
    const describe = (p: (typeof problems)[number]) => `${p.ruleId} ${p.location[0]?.pointer ?? ""}`;
    expect(problems.filter((p) => p.severity === "error").map((p) => `${describe(p)}: ${p.message}`)).toEqual([]);
    expect(problems.map(describe).sort()).toEqual([...ACCEPTED_WARNINGS].sort());
  });

  it("gives openapi-typescript the types a typed client compiles against", async () => {
    expect(typeCheck(await typesOf(doc), CLIENT)).toEqual([]);
  });

  it("would fail that client if event bodies or an answer were undocumented", async () => {
    const blunted = JSON.parse(source);
    for (const path of ["/v1/events", "/v1/events/batch", "/v1/ingest"]) blunted.paths[path].post.requestBody.content["application/json"].schema = {};
    blunted.paths["/v1/invoices/{id}"].get.responses["200"].content["application/json"].schema = {};
    const errors = typeCheck(await typesOf(blunted), CLIENT).map((e) => e.replace(/^[^ ]+ /, ""));
    expect(errors).toEqual([
      ...Array(2).fill("'invoice' is of type 'unknown'."),
      // Every refused event body but the customer's, which stayed documented.
      ...Array(7).fill("Unused '@ts-expect-error' directive."),
    ]);
  });
});
