// Types for the Node webhook receiver used by vitest.config.ts.
export function startWebhookReceiver(): Promise<string>;
