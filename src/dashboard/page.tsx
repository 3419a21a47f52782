// The dashboard's Hono environment and the helpers every page module uses to render and read forms.
import { Hono, type Context } from "hono";
import type { Child } from "hono/jsx";
import { database } from "../db/client";
import type { AppVariables, Caller, Env } from "../env";
import { formValues, type FormValues } from "./forms";
import { Layout, type PageContext } from "./layout";
import type { Session } from "./session";

export interface DashboardEnv {
  Bindings: Env;
  Variables: AppVariables & { session: Session; page: PageContext };
}

export type DashboardContext = Context<DashboardEnv>;

export function newPages() {
  return new Hono<DashboardEnv>();
}

export function render(c: DashboardContext, title: string, body: Child, status: 200 | 400 | 403 | 404 | 409 | 422 | 500 = 200) {
  return c.html(
    <Layout title={title} ctx={c.get("page")}>
      {body}
    </Layout>,
    status,
  );
}

/** The signed-in caller (set by the sign-in check before any page runs). */
export function callerIn(c: DashboardContext): Caller {
  return c.get("caller");
}

export function db(c: DashboardContext) {
  return database(c.env.DB);
}

export async function postedForm(c: DashboardContext): Promise<FormValues> {
  return formValues((await c.req.parseBody()) as Record<string, unknown>);
}

/** Status for a page re-rendered with form errors: the API error's own status (400, 404, 409…). */
export function errorStatus(status: number): 400 | 404 | 409 | 422 {
  return status === 404 || status === 409 || status === 422 ? status : 400;
}

/** The query string's non-empty values. */
export function queryOf(c: DashboardContext, names: string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const n of names) {
    const v = c.req.query(n)?.trim();
    out[n] = v ? v : undefined;
  }
  return out;
}
