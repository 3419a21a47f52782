// An endpoint's delivery log on Settings → Webhooks: each delivery's status, its attempts with why each failed, the
// next attempt and a link to resend.
import type { FC } from "hono/jsx";
import { Badge } from "../layout";
import type { Delivery } from "./webhooks";

const DeliveryStatus: FC<{ status: string }> = ({ status }) => (
  <Badge status={status === "succeeded" ? "active" : status === "failed" ? "void" : "scheduled"} label={status} />
);

/** "2026-03-01 12:34:56 UTC": attempts are seconds apart, so the log keeps the seconds. */
const timeOf = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;

export const DeliveryLog: FC<{ endpointId: string; deliveries: Delivery[] }> = ({ endpointId, deliveries }) =>
  deliveries.length === 0 ? (
    <p class="muted">No deliveries.</p>
  ) : (
    <table data-testid="deliveries-table">
      <thead>
        <tr>
          <th>Event</th>
          <th>Status</th>
          <th>Created</th>
          <th>Attempts</th>
          <th>Next attempt</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        {deliveries.map((d) => (
          <tr id={`delivery-${d.id}`} data-delivery={d.id}>
            <td>
              <span class="mono">{d.event_type}</span>
              <div class="muted mono">{d.event_id}</div>
            </td>
            <td>
              <DeliveryStatus status={d.status} />
            </td>
            <td>{timeOf(d.created_at)}</td>
            <td>
              {d.attempts.length === 0 ? (
                <span class="muted">none yet</span>
              ) : (
                <ol style="margin:0; padding-left:18px" data-testid="attempts">
                  {d.attempts.map((a) => (
                    <li>
                      {timeOf(a.attempted_at)} —{" "}
                      {/* The error says why in words and already names the status of an answer that failed. */}
                      {a.response_status !== null ? (
                        <span data-response-status={a.response_status} class={a.error ? "error" : undefined}>
                          {a.error ?? `HTTP ${a.response_status}`}
                        </span>
                      ) : (
                        <span class="error">{a.error}</span>
                      )}{" "}
                      ({a.duration_ms} ms)
                      {a.response_body ? (
                        <details>
                          <summary class="muted">Response body</summary>
                          <pre class="mono" style="white-space:pre-wrap; margin:4px 0">
                            {a.response_body}
                          </pre>
                        </details>
                      ) : null}
                    </li>
                  ))}
                </ol>
              )}
            </td>
            <td>{d.next_attempt_at ? timeOf(d.next_attempt_at) : "—"}</td>
            <td>
              <a href={`/dashboard/webhooks/${endpointId}/deliveries/${d.id}/resend`} data-action="resend">
                Resend…
              </a>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
