// The single place errors become HTTP responses (SPEC §2 error body), plus request ids and 404s.
import type { Context, ErrorHandler, MiddlewareHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError } from "../errors";
import type { AppEnv } from "../env";

export const requestContext: MiddlewareHandler<AppEnv> = async (c, next) => {
  const requestId = `req_${crypto.randomUUID().replace(/-/g, "")}`;
  c.set("requestId", requestId);
  c.set("now", Date.now());
  await next();
  c.header("Request-Id", requestId);
};

function errorResponse(c: Context<AppEnv>, err: ApiError): Response {
  const body = {
    error: {
      type: err.type,
      code: err.code,
      message: err.message,
      ...(err.param ? { param: err.param } : {}),
      request_id: c.get("requestId") ?? "",
      ...(err.errors && err.errors.length > 0 ? { errors: err.errors } : {}),
    },
  };
  return new Response(JSON.stringify(body), {
    status: err.status,
    headers: { "Content-Type": "application/json", "Request-Id": c.get("requestId") ?? "" },
  });
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof ApiError) return errorResponse(c, err);
  if (err instanceof HTTPException) {
    // Hono's own validator raises these, e.g. for a body that is not JSON.
    if (err.status === 400) return errorResponse(c, new ApiError("invalid_json", "Request body is not valid JSON"));
    if (err.status === 413) return errorResponse(c, new ApiError("body_too_large", "Request body is too large"));
  }
  console.error("unhandled error", c.req.method, c.req.path, err);
  return errorResponse(c, new ApiError("internal_error", "An internal error occurred; it has been logged"));
};

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  errorResponse(c, new ApiError("route_not_found", `No route for ${c.req.method} ${c.req.path}`));
