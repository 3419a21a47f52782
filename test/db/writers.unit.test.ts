// One way to reach D1 and one writer per D1 table (issue 16), read off the source: every D1 statement, the
// customer ledger's included, goes through drizzle (no raw `.prepare(`), and each table is written only by the module
// src/db/writers.ts names for it. A new violation fails here, with its file and line.
import { is, getTableName } from "drizzle-orm";
import { SQLiteTable } from "drizzle-orm/sqlite-core";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import * as schema from "../../src/db/schema";
import { D1_WRITERS, PENDING_FOREIGN_WRITES } from "../../src/db/writers";

// The project has no @types/node (its tests run in workerd): the Node APIs used here are loaded untyped, as in
// test/tools/deploy.test.ts.
interface Fs {
  readFileSync(path: string, encoding: "utf8"): string;
  readdirSync(path: string, options: { withFileTypes: true }): { name: string; isDirectory(): boolean }[];
  existsSync(path: string): boolean;
}

const ROOT = new URL("../..", (import.meta as unknown as { url: string }).url).pathname;
const LEDGER = "src/ledger/";

/** Schema export name → D1 table name, e.g. webhookEvents → webhook_events. */
const TABLES = new Map(
  Object.entries(schema).flatMap(([name, value]) => (is(value, SQLiteTable) ? [[name, getTableName(value)] as const] : [])),
);

interface Write {
  file: string;
  line: number;
  table: string;
}

interface Scan {
  writes: Write[];
  /** Raw D1 statements: `.prepare(` calls. */
  prepares: { file: string; line: number }[];
}

/**
 * A statement keyword and the table it writes. UPDATE needs its SET so prose ("update the …") is not read as SQL;
 * a table may be quoted or interpolated (the caller puts the table's name in place of `${table}`).
 */
const WRITE_SQL = /\b(?:(?:INSERT|REPLACE)(?:\s+OR\s+\w+)?\s+INTO|DELETE\s+FROM)\s+["'`]?(\w+)|\bUPDATE(?:\s+OR\s+\w+)?\s+["'`]?(\w+)["'`]?\s+SET\b/gi;

/**
 * Finds D1 writes in one source file:
 * - drizzle's `.insert(t)`, `.update(t)`, `.delete(t)` of a table imported from db/schema,
 * - INSERT / UPDATE / DELETE text in any string or template literal (`sql\`…\``, raw D1), naming a D1 table, except
 *   text passed straight to `.exec(` (a Durable Object's own SQLite, whose tables may share D1's names).
 */
function scanSource(file: string, text: string): Scan {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const scan: Scan = { writes: [], prepares: [] };
  const lineOf = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;

  // Local names of the schema's tables: named imports (aliases included) and namespace imports (schema.customers).
  const tableOf = new Map<string, string>();
  const namespaces = new Set<string>();
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const from = statement.moduleSpecifier.text;
    if (!from.endsWith("/db/schema") && !(file.startsWith("src/db/") && from === "./schema")) continue;
    const bindings = statement.importClause?.namedBindings;
    if (bindings && ts.isNamedImports(bindings)) {
      for (const element of bindings.elements) {
        const table = TABLES.get((element.propertyName ?? element.name).text);
        if (table) tableOf.set(element.name.text, table);
      }
    } else if (bindings && ts.isNamespaceImport(bindings)) {
      namespaces.add(bindings.name.text);
    }
  }
  const tableNamed = (node: ts.Expression): string | undefined => {
    if (ts.isIdentifier(node)) return tableOf.get(node.text);
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && namespaces.has(node.expression.text)) {
      return TABLES.get(node.name.text);
    }
    return undefined;
  };
  const d1Tables = new Set<string>(TABLES.values());

  const literalText = (node: ts.Node): string | null => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
    if (ts.isTemplateExpression(node)) {
      return node.head.text + node.templateSpans.map((span) => (tableNamed(span.expression) ?? "?") + span.literal.text).join("");
    }
    return null;
  };
  const passedToExec = (node: ts.Node) =>
    ts.isCallExpression(node.parent) &&
    node.parent.arguments.includes(node as ts.Expression) &&
    ts.isPropertyAccessExpression(node.parent.expression) &&
    node.parent.expression.name.text === "exec";

  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const method = node.expression.name.text;
      if (method === "prepare") scan.prepares.push({ file, line: lineOf(node) });
      if ((method === "insert" || method === "update" || method === "delete") && node.arguments.length === 1) {
        const table = tableNamed(node.arguments[0]!);
        if (table) scan.writes.push({ file, line: lineOf(node), table });
      }
    }
    const text = literalText(node);
    if (text !== null && !passedToExec(node)) {
      for (const m of text.matchAll(WRITE_SQL)) {
        const table = m[1] ?? m[2]!;
        if (d1Tables.has(table)) scan.writes.push({ file, line: lineOf(node), table });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return scan;
}

/** `file` is `writer`, or lies under it when `writer` is a directory. */
const within = (file: string, writer: string) => (writer.endsWith("/") ? file.startsWith(writer) : file === writer);

let fs: Fs;
let scan: Scan;

beforeAll(async () => {
  const load = (name: string) => import(/* @vite-ignore */ name);
  fs = (await load("node:fs")) as Fs;
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(ROOT + dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(`${dir}/${entry.name}`);
      else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts")) files.push(`${dir}/${entry.name}`);
    }
  };
  walk("src");
  scan = { writes: [], prepares: [] };
  for (const file of files) {
    const found = scanSource(file, fs.readFileSync(ROOT + file, "utf8"));
    scan.writes.push(...found.writes);
    scan.prepares.push(...found.prepares);
  }
});

describe("D1 access", () => {
  it("names one writer for every D1 table, and each writer exists", () => {
    expect(Object.keys(D1_WRITERS).sort()).toEqual([...TABLES.values()].sort());
    for (const writer of Object.values(D1_WRITERS)) {
      if (writer !== null) expect(fs.existsSync(ROOT + writer), writer).toBe(true);
    }
  });

  it("reaches D1 through drizzle everywhere, the customer ledger included: no raw .prepare(", () => {
    expect(scan.prepares.map((p) => `${p.file}:${p.line}`)).toEqual([]);
  });

  it("writes each table only from its writer (or a write listed as pending)", () => {
    const foreign = scan.writes.filter((w) => {
      const writer = D1_WRITERS[w.table as keyof typeof D1_WRITERS];
      if (writer !== null && within(w.file, writer)) return false;
      return !PENDING_FOREIGN_WRITES.some((p) => p.table === w.table && within(w.file, p.in));
    });
    expect(foreign.map((w) => `${w.file}:${w.line} writes ${w.table} (its writer: ${D1_WRITERS[w.table as keyof typeof D1_WRITERS]})`)).toEqual([]);
  });

  it("lists only pending foreign writes that still exist (remove an entry once its writer took the write over)", () => {
    const gone = PENDING_FOREIGN_WRITES.filter((p) => !scan.writes.some((w) => w.table === p.table && within(w.file, p.in)));
    expect(gone).toEqual([]);
  });

  it("finds every writer writing its table (the scan sees both drizzle and SQL text)", () => {
    const silent = Object.entries(D1_WRITERS).filter(
      ([table, writer]) => writer !== null && !scan.writes.some((w) => w.table === table && within(w.file, writer)),
    );
    expect(silent).toEqual([]);
  });
});

describe("the scan", () => {
  const sample = `
    import { contracts as c, invoices } from "../db/schema";
    import * as schema from "../db/schema";
    db.update(invoices).set({ total: "1" });
    db.insert(c).values(row);
    db.delete(schema.webhookEvents);
    env.DB.prepare("UPDATE customers SET name = ? WHERE id = ?");
    db.run(sql\`DELETE FROM \${schema.stripeEvents} WHERE event_id = \${id}\`);
    db.all(sql\`INSERT OR IGNORE INTO api_keys (id) SELECT \${id}\`);
    this.sql.exec("DELETE FROM contracts");
    throw new Error("could not update the customers: retry");
    cache.delete(key);
  `;

  it("finds drizzle writes (aliases, namespaces), SQL text and raw statements; not DO SQLite, prose or other calls", () => {
    const found = scanSource("src/x.ts", sample);
    expect(found.writes.map((w) => [w.line, w.table])).toEqual([
      [4, "invoices"],
      [5, "contracts"],
      [6, "webhook_events"],
      [7, "customers"],
      [8, "stripe_events"],
      [9, "api_keys"],
    ]);
    expect(found.prepares.map((p) => p.line)).toEqual([7]);
  });
});
