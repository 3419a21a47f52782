// GET /docs: an API reference rendered on the server from the OpenAPI document (no CDN, works offline).
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

type Json = Record<string, unknown>;

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

function schemaName(ref: string): string {
  return ref.split("/").pop() ?? ref;
}

/** A compact one-line type for a JSON schema: `string (decimal)`, `Customer`, `array of Price`. */
function typeLabel(schema: Json | undefined): string {
  if (!schema) return "any";
  if (typeof schema.$ref === "string") return schemaName(schema.$ref);
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  for (const key of ["oneOf", "anyOf"] as const) {
    const options = schema[key];
    if (Array.isArray(options)) return options.map((o) => typeLabel(o as Json)).join(" | ");
  }
  const type = Array.isArray(schema.type) ? schema.type.join(" | ") : String(schema.type ?? "object");
  if (type === "array") return `array of ${typeLabel(schema.items as Json)}`;
  return schema.format ? `${type} (${String(schema.format)})` : type;
}

function propertiesTable(schema: Json | undefined): HtmlEscapedString | Promise<HtmlEscapedString> | string {
  // An allOf lists its branches' fields: the Event is its fields, then which of them must be given.
  const parts = schema && Array.isArray(schema.allOf) ? (schema.allOf as Json[]) : schema ? [schema] : [];
  const props = Object.assign({}, ...parts.map((p) => p.properties as Record<string, Json> | undefined)) as Record<string, Json>;
  if (Object.keys(props).length === 0) return "";
  const required = new Set(parts.flatMap((p) => (p.required as string[] | undefined) ?? []));
  return html`<table>
    <tr><th>field</th><th>type</th><th></th><th>description</th></tr>
    ${Object.entries(props).map(
      ([name, p]) =>
        html`<tr><td><code>${name}</code></td><td>${typeLabel(p)}</td><td>${required.has(name) ? "required" : ""}</td><td>${String(p.description ?? "")}</td></tr>`,
    )}
  </table>`;
}

function resolve(doc: Json, schema: Json | undefined): Json | undefined {
  if (schema && typeof schema.$ref === "string") {
    const schemas = ((doc.components as Json | undefined)?.schemas ?? {}) as Record<string, Json>;
    return schemas[schemaName(schema.$ref)];
  }
  return schema;
}

export function renderDocs(doc: Json) {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  const schemas = ((doc.components as Json | undefined)?.schemas ?? {}) as Record<string, Json>;
  const info = (doc.info ?? {}) as Json;
  const operations = Object.entries(paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ path, method: m, op: item[m]! })),
  );
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${String(info.title)} reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:24px;color:#1d2330}
code{font:13px ui-monospace,monospace;background:#f1f3f7;padding:1px 4px;border-radius:3px}
.op{border:1px solid #dde1ea;border-radius:6px;margin:14px 0;padding:10px 14px}
.m{font-weight:700;text-transform:uppercase;margin-right:8px}
.get{color:#1a7f37}.post{color:#0b5cad}.patch,.put{color:#9a6700}.delete{color:#cf222e}
table{border-collapse:collapse;margin:6px 0;font-size:14px}td,th{border-bottom:1px solid #eceef3;padding:3px 8px;text-align:left;vertical-align:top}
</style></head><body>
<h1>${String(info.title)} <small>${String(info.version)}</small></h1>
<p>${String(info.description ?? "")}</p>
<p>Machine-readable document: <a href="/openapi.json"><code>/openapi.json</code></a> (OpenAPI 3.1).
Authenticate with <code>Authorization: Bearer mk_test_…</code>.</p>
<h2>Operations</h2>
${operations.map(({ path, method, op }) => {
  const bodySchema = ((op.requestBody as Json | undefined)?.content as Json | undefined)?.["application/json"]
    ? ((((op.requestBody as Json).content as Json)["application/json"] as Json).schema as Json)
    : undefined;
  const body = resolve(doc, bodySchema);
  const params = (op.parameters as Json[] | undefined) ?? [];
  const responses = Object.entries((op.responses ?? {}) as Record<string, Json>);
  return html`<div class="op" id="${method}-${path}">
    <div><span class="m ${method}">${method}</span><code>${path}</code> — ${String(op.summary ?? "")}</div>
    ${params.length
      ? html`<table><tr><th>parameter</th><th>in</th><th>type</th></tr>${params.map(
          (p) => html`<tr><td><code>${String(p.name)}</code></td><td>${String(p.in)}</td><td>${typeLabel(p.schema as Json)}</td></tr>`,
        )}</table>`
      : ""}
    ${body ? html`<div>Body: ${typeLabel(bodySchema)}</div>${propertiesTable(body)}` : ""}
    <div>Responses: ${raw(responses.map(([code, r]) => `<code>${code}</code> ${escape(String(r.description ?? ""))}`).join(" · "))}</div>
  </div>`;
})}
<h2>Schemas</h2>
${Object.entries(schemas).map(([name, s]) => html`<h3 id="schema-${name}">${name}</h3>${propertiesTable(s) || html`<p>${typeLabel(s)}</p>`}`)}
</body></html>`;
}

function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
