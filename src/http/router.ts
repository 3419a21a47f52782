// Every route module builds its routes on this, so validation failures are reported the same way everywhere.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { throwOnInvalid } from "./validation";

export function newRouter() {
  return new OpenAPIHono<AppEnv>({ defaultHook: throwOnInvalid });
}
