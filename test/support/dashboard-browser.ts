// A minimal browser for dashboard tests in workerd: one session cookie, no redirects followed, forms posted with the page's CSRF token.
import { SELF } from "cloudflare:test";
import { expect } from "vitest";

const BASE = "https://meterline.test";

export class Browser {
  cookie: string | null = null;
  setCookies: string[] = [];

  async request(method: string, path: string, form?: Record<string, string>, headers: Record<string, string> = {}) {
    const h: Record<string, string> = { ...headers };
    if (this.cookie) h.Cookie = `meterline_session=${this.cookie}`;
    let body: string | undefined;
    if (form) {
      body = new URLSearchParams(form).toString();
      h["Content-Type"] = "application/x-www-form-urlencoded";
    }
    const res = await SELF.fetch(`${BASE}${path}`, { method, headers: h, body, redirect: "manual" });
    for (const sc of res.headers.getSetCookie()) {
      this.setCookies.push(sc);
      const m = /^meterline_session=([^;]*)/.exec(sc);
      if (m) this.cookie = m[1] || null;
    }
    return { status: res.status, location: res.headers.get("Location"), html: await res.text(), headers: res.headers };
  }

  get(path: string) {
    return this.request("GET", path);
  }

  async csrf(path = "/dashboard/signin"): Promise<string> {
    const page = await this.get(path);
    const m = /name="_csrf" value="([^"]+)"/.exec(page.html);
    expect(m, `no CSRF token on ${path}`).not.toBeNull();
    return m![1]!;
  }

  /** The hidden tokens of the page's first form: the session's CSRF token and that rendering's `_once`. */
  async formTokens(path: string): Promise<{ _csrf: string; _once: string }> {
    const page = await this.get(path);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.html);
    const once = /name="_once" value="([^"]+)"/.exec(page.html);
    expect(csrf && once, `no form tokens on ${path}`).toBeTruthy();
    return { _csrf: csrf![1]!, _once: once![1]! };
  }

  /** Posts a form the way the page would: with the page's CSRF and `_once` tokens. */
  async submit(fromPage: string, action: string, fields: Record<string, string>) {
    return this.request("POST", action, { ...(await this.formTokens(fromPage)), ...fields });
  }

  async signIn(key: string) {
    const res = await this.submit("/dashboard/signin", "/dashboard/signin", { api_key: key });
    expect(res.status, res.html).toBe(303);
    expect(res.location).toBe("/dashboard/overview");
    return res;
  }
}
