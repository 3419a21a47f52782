// The Worker's bare URL: a person opening it in a browser lands on the dashboard, not on a 404.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("GET /", () => {
  it("redirects to the dashboard (302, so browsers do not cache it for good)", async () => {
    for (const method of ["GET", "HEAD"]) {
      const res = await SELF.fetch("https://meterline.test/", { method, redirect: "manual" });
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe("/dashboard");
      await res.arrayBuffer();
    }
    // Followed, it is the dashboard's own answer (its sign-in page for a visitor without a session).
    const followed = await SELF.fetch("https://meterline.test/");
    expect(followed.status).toBe(200);
    expect(new URL(followed.url).pathname).toMatch(/^\/dashboard/);
    await followed.arrayBuffer();
  });
});
