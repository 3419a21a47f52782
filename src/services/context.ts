// What every mutating service is handed: the bindings, a database handle, who acts and the request's instant.
import type { Context } from "hono";
import { database, type Database } from "../db/client";
import type { AppVariables, Caller, Env } from "../env";

export interface ServiceContext {
  env: Env;
  db: Database;
  caller: Caller;
  /** Read once per request, so every rule and every row the operation writes sees the same instant. */
  now: number;
  /** Work that goes on after the answer (the runtime's waitUntil); without one it is simply started. */
  defer: (work: Promise<unknown>) => void;
}

/** From an API route's or a dashboard page's context; both carry the caller and `now` the middleware set. */
export function serviceContext<E extends { Bindings: Env; Variables: AppVariables }>(c: Context<E>): ServiceContext {
  return {
    env: c.env,
    db: database(c.env.DB),
    caller: c.get("caller"),
    now: c.get("now"),
    defer: (work) => c.executionCtx.waitUntil(work.catch((err: unknown) => console.error("deferred work failed", err))),
  };
}
