// Webhook endpoint URLs per mode: live endpoints must be https on a public host; test mode takes local ones.
import { describe, expect, it } from "vitest";
import { webhookUrlProblem } from "../../src/domain/webhook-urls";

describe("webhookUrlProblem", () => {
  it.each([
    "https://example.com/hooks",
    "https://hooks.example.co.uk:8443/a?b=c",
    "https://93.184.216.34/h",
    "https://[2606:2800:220:1:248:1893:25c8:1946]/h",
    "https://172.32.0.1/h",
    "https://100.128.0.1/h",
  ])("live accepts %s", (url) => expect(webhookUrlProblem(url, "live")).toBeNull());

  it.each([
    ["http://example.com/hooks", "https"],
    ["https://localhost/h", "public host"],
    ["https://api.localhost/h", "public host"],
    ["https://printer.local/h", "public host"],
    ["https://metadata.google.internal/h", "public host"],
    ["https://router.home.arpa/h", "public host"],
    ["https://intranet/h", "public host"],
    ["https://127.0.0.1/h", "private"],
    ["https://127.1/h", "private"], // the URL parser normalises short forms to 127.0.0.1
    ["https://2130706433/h", "private"], // and decimal ones
    ["https://0x7f000001/h", "private"],
    ["https://10.1.2.3/h", "private"],
    ["https://172.16.0.1/h", "private"],
    ["https://192.168.1.1/h", "private"],
    ["https://169.254.169.254/latest/meta-data", "private"],
    ["https://100.64.0.1/h", "private"],
    ["https://0.0.0.0/h", "private"],
    ["https://[::1]/h", "private"],
    ["https://[::ffff:127.0.0.1]/h", "private"],
    ["https://[::ffff:10.0.0.1]/h", "private"],
    ["https://[fd00::1]/h", "private"],
    ["https://[fe80::1]/h", "private"],
  ])("live refuses %s", (url, why) => expect(webhookUrlProblem(url, "live")).toContain(why));

  it.each(["http://localhost:8787/h", "http://127.0.0.1:9000/h", "https://[::1]/h"])("live accepts %s only when loopback is allowed", (url) => {
    expect(webhookUrlProblem(url, "live", { allowLoopback: true })).toBeNull();
    expect(webhookUrlProblem(url, "live")).not.toBeNull();
  });

  it("allowing loopback allows nothing else", () => {
    for (const url of ["http://10.0.0.5/h", "http://example.com/h", "https://192.168.1.1/h"]) {
      expect(webhookUrlProblem(url, "live", { allowLoopback: true })).not.toBeNull();
    }
  });

  it.each(["http://localhost:8787/h", "http://127.0.0.1:9000/h", "https://10.0.0.5/h", "http://example.com/h"])(
    "test mode accepts %s",
    (url) => expect(webhookUrlProblem(url, "test")).toBeNull(),
  );
});
