// The webhook retry schedule: exponential, capped at 12 hours, and about 14 attempts inside the 3-day window.
import { describe, expect, it } from "vitest";
import { RETRY_WINDOW_MS, retryDelayMs } from "../../src/webhooks/schedule";

describe("webhook retry schedule", () => {
  it("backs off exponentially, then every 12 hours", () => {
    const delays = Array.from({ length: 12 }, (_, i) => retryDelayMs(i + 1) / 1000);
    expect(delays).toEqual([5, 30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 43_200, 43_200, 43_200]);
    for (let i = 1; i < delays.length; i++) expect(delays[i]!).toBeGreaterThanOrEqual(delays[i - 1]!);
  });

  it("fits its attempts into 3 days, the last one exactly at the end", () => {
    // As the dispatcher does: next = min(now + delay, created + window); no retry once the window has passed.
    let at = 0;
    const attempts = [at];
    for (let failed = 1; at < RETRY_WINDOW_MS; failed++) {
      at = Math.min(at + retryDelayMs(failed), RETRY_WINDOW_MS);
      attempts.push(at);
    }
    expect(attempts.at(-1)).toBe(RETRY_WINDOW_MS);
    expect(attempts.length).toBe(15);
  });
});
