// /dashboard: sessions, CSRF, sign-in/out and the mode switch, then every page module. Mounted by src/app.ts.
import type { MiddlewareHandler } from "hono";
import type { Mode } from "../env";
import { ApiError } from "../errors";
import { copyScriptHash } from "./copy";
import { Csrf, Document, emptyForm, Field, FormError, NAV, type FormState } from "./layout";
import { formOnce } from "./once";
import { newPages, postedForm, render, type DashboardContext, type DashboardEnv } from "./page";
import { alertPages } from "./pages/alerts";
import { apiKeyPages } from "./pages/api-keys";
import { contractPages } from "./pages/contracts";
import { customerPages } from "./pages/customers";
import { eventPages } from "./pages/events";
import { invoicePages } from "./pages/invoices";
import { meterPages } from "./pages/meters";
import { overviewPages } from "./pages/overview";
import { planPages } from "./pages/plans";
import { webhookPages } from "./pages/webhooks";
import {
  checkPastedKey,
  clearSession,
  csrfMatches,
  DashboardConfigError,
  newSession,
  readSession,
  sessionCaller,
  writeSession,
  type Session,
} from "./session";

const SIGN_IN = "/dashboard/signin";
const HOME = "/dashboard/overview";
const MAX_FORM_BYTES = 1024 * 1024;

/** Loads (or starts) the session; every page, signed in or not, has one so that every form carries a CSRF token. */
const loadSession: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  let session = await readSession(c);
  if (!session) {
    session = newSession(c.get("now"));
    await writeSession(c, session);
  }
  c.set("session", session);
  return next();
};

function forbidden(c: DashboardContext, message: string) {
  return c.html(
    <Document title="Request refused" test={false}>
      <div class="signin card">
        <h1>Request refused</h1>
        <p>{message}</p>
        <p>
          <a href={HOME}>Back to the dashboard</a>
        </p>
      </div>
    </Document>,
    403,
  );
}

/**
 * NOTE: every POST must carry the session's CSRF token (a hidden `_csrf` field); a cross-site form cannot know it.
 * SameSite=Strict already keeps the cookie off cross-site posts; the token and the Origin check do not rely on it.
 */
const csrfProtection: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  if (c.req.method !== "POST") return next();
  const origin = c.req.header("Origin");
  if (origin && origin !== "null" && origin !== new URL(c.req.url).origin) return forbidden(c, "This form was sent from another site.");
  // Forms here are small; a huge body is refused before it is parsed.
  if (Number(c.req.header("Content-Length") ?? "0") > MAX_FORM_BYTES) return c.text("Form too large", 413);
  const posted = (await c.req.parseBody())["_csrf"];
  if (!csrfMatches(c.get("session"), posted)) {
    return forbidden(c, "This form has expired or did not come from this dashboard (missing or wrong CSRF token). Reload the page and try again.");
  }
  return next();
};

/** Signed-in pages: the session's key of the current mode must still be valid; otherwise back to sign-in. */
const requireSignIn: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  const session = c.get("session");
  const caller = await sessionCaller(c.env, session);
  if (!caller) {
    if (session.mode) {
      // A revoked or deleted key ends the session.
      await writeSession(c, newSession(c.get("now")));
      return c.redirect(`${SIGN_IN}?expired=1`, 303);
    }
    return c.redirect(SIGN_IN, 303);
  }
  c.set("caller", caller);
  const other: Mode = caller.mode === "test" ? "live" : "test";
  c.set("page", { mode: caller.mode, hasOtherKey: session.keys[other] !== undefined, csrf: session.csrf, path: c.req.path });
  return next();
};

const SignInPage = ({ csrf, state, notice }: { csrf: string; state: FormState; notice?: string }) => (
  <Document title="Sign in" test={false}>
    <div class="signin">
      <div class="card">
        <h1>Sign in to Meterline</h1>
        <p class="sub">Paste an API key. A test key (mk_test_…) opens test mode, a live key (mk_live_…) live mode.</p>
        {notice ? <div class="notice">{notice}</div> : null}
        <form method="post" action={SIGN_IN}>
          <Csrf token={csrf} />
          <FormError state={state} />
          <Field state={{ values: {}, errors: state.errors }} name="api_key" label="API key" type="password" placeholder="mk_test_…" required />
          <div class="actions">
            <button type="submit">Sign in</button>
          </div>
        </form>
        <p class="explain">
          The key is checked like an API request and never stored: the session cookie keeps only its SHA-256 hash, sealed with
          AES-GCM. <code>npm run dev</code> prints the dev account's keys.
        </p>
      </div>
    </div>
  </Document>
);

const AddKeyPage = ({ csrf, mode, state }: { csrf: string; mode: Mode; state: FormState }) => (
  <>
    <h1>Switch to {mode} mode</h1>
    <p class="sub">
      Your session has no {mode} key yet. Paste a {mode} key of this account (mk_{mode}_…); the session then holds both and the switch is one
      click.
    </p>
    <div class="card">
      <form method="post" action="/dashboard/mode/add">
        <Csrf token={csrf} />
        <input type="hidden" name="mode" value={mode} />
        <FormError state={state} />
        <Field state={{ values: {}, errors: state.errors }} name="api_key" label={`${mode === "live" ? "Live" : "Test"} API key`} type="password" required />
        <div class="actions">
          <button type="submit">Add key and switch</button>
          <a href={HOME}>Cancel</a>
        </div>
      </form>
    </div>
  </>
);

/** After a mode switch, the list page of the section the user was on (a detail URL belongs to the other mode's data). */
function sectionOf(path: string): string {
  return NAV.find((n) => path.startsWith(n.path))?.path ?? HOME;
}

export const dashboardRoutes = newPages();

/**
 * An ApiError that escapes a page (an unknown id in the URL, a bad filter or cursor in the query) is shown as a page
 * with the API's status and message; anything else is a logged 500.
 */
dashboardRoutes.onError((err, c) => {
  if (err instanceof DashboardConfigError) return c.text(err.message, 500);
  const page = c.get("page");
  const api = err instanceof ApiError && err.status < 500 ? err : null;
  const status = api ? (api.status === 404 ? 404 : 400) : 500;
  if (!api) console.error("dashboard error", c.req.method, c.req.path, err);
  const title = status === 404 ? "Not found" : status === 400 ? "Invalid request" : "Something went wrong";
  const message = api ? `${api.message}${status === 404 && page ? ` in ${page.mode} mode` : ""}.` : "The error has been logged.";
  const body = (
    <div class="card">
      <h1>{title}</h1>
      <p>{message}</p>
      <p>
        <a href={HOME}>Back to the dashboard</a>
      </p>
    </div>
  );
  return page ? render(c, title, body, status) : c.html(<Document title={title} test={false}>{body}</Document>, status);
});

/**
 * NOTE: the one script the pages run is the Copy button's (copy.tsx), allowed by its hash: no other inline script,
 * no script file and no event-handler attribute can run. Frames are refused so a confirmation page (finalize, void,
 * revoke) cannot be clickjacked; pages hold account data, so nothing is cached.
 */
const securityHeaders: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  await next();
  c.header(
    "Content-Security-Policy",
    `default-src 'none'; script-src ${await copyScriptHash()}; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  );
  c.header("X-Frame-Options", "DENY");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "same-origin");
  c.header("Cache-Control", "no-store");
};

dashboardRoutes.use("*", securityHeaders, loadSession, csrfProtection);

dashboardRoutes.get("/", (c) => c.redirect(HOME, 303));

dashboardRoutes.get("/signin", async (c) => {
  const notice = c.req.query("expired") ? "Your session ended (the key was revoked or is no longer valid). Sign in again." : undefined;
  return c.html(<SignInPage csrf={c.get("session").csrf} state={emptyForm()} notice={notice} />);
});

dashboardRoutes.post("/signin", async (c) => {
  const form = await postedForm(c);
  const check = await checkPastedKey(c.env, form.api_key ?? "");
  if (!check.ok) {
    return c.html(<SignInPage csrf={c.get("session").csrf} state={{ values: {}, errors: { api_key: check.message } }} />, 400);
  }
  // A fresh session (new CSRF token) on sign-in, so a token seen before signing in is worth nothing after.
  const session: Session = { ...newSession(c.get("now")), keys: { [check.caller.mode]: check.hash }, accountId: check.caller.accountId, mode: check.caller.mode };
  await writeSession(c, session);
  return c.redirect(HOME, 303);
});

dashboardRoutes.post("/signout", async (c) => {
  clearSession(c);
  return c.redirect(SIGN_IN, 303);
});

dashboardRoutes.use("*", requireSignIn, formOnce);

dashboardRoutes.post("/mode", async (c) => {
  const form = await postedForm(c);
  const mode = form.mode === "live" ? "live" : "test";
  const session = c.get("session");
  if (!session.keys[mode]) return c.redirect(`/dashboard/mode/add?mode=${mode}`, 303);
  await writeSession(c, { ...session, mode });
  return c.redirect(sectionOf(form.return_to ?? ""), 303);
});

dashboardRoutes.get("/mode/add", (c) => {
  const mode: Mode = c.req.query("mode") === "live" ? "live" : "test";
  return render(c, `Switch to ${mode} mode`, <AddKeyPage csrf={c.get("session").csrf} mode={mode} state={emptyForm()} />);
});

dashboardRoutes.post("/mode/add", async (c) => {
  const form = await postedForm(c);
  const mode: Mode = form.mode === "live" ? "live" : "test";
  const session = c.get("session");
  const check = await checkPastedKey(c.env, form.api_key ?? "");
  let message: string | null = null;
  if (!check.ok) message = check.message;
  else if (check.caller.mode !== mode) message = `That is a ${check.caller.mode} key; paste a ${mode} key (mk_${mode}_…).`;
  else if (check.caller.accountId !== session.accountId) message = "That key belongs to another account.";
  if (message || !check.ok) {
    return render(c, `Switch to ${mode} mode`, <AddKeyPage csrf={session.csrf} mode={mode} state={{ values: {}, errors: { api_key: message! } }} />, 400);
  }
  await writeSession(c, { ...session, keys: { ...session.keys, [mode]: check.hash }, mode });
  return c.redirect(HOME, 303);
});

dashboardRoutes.route("/overview", overviewPages);
dashboardRoutes.route("/customers", customerPages);
dashboardRoutes.route("/meters", meterPages);
dashboardRoutes.route("/plans", planPages);
dashboardRoutes.route("/contracts", contractPages);
dashboardRoutes.route("/events", eventPages);
dashboardRoutes.route("/invoices", invoicePages);
dashboardRoutes.route("/alerts", alertPages);
dashboardRoutes.route("/api-keys", apiKeyPages);
dashboardRoutes.route("/webhooks", webhookPages);

dashboardRoutes.all("*", (c) => {
  throw new ApiError("route_not_found", `No dashboard page at ${c.req.path}`);
});
