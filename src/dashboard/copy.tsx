// The "Copy" button next to a secret shown once, and the one script the dashboard runs, which the CSP allows by hash.
import type { FC } from "hono/jsx";

/**
 * Copies the text of the element a `button[data-copy]` names. The buttons render hidden and this shows them, so a
 * browser that runs no script shows no dead button. Without the clipboard API (a page served over plain http from
 * another host) it selects the text instead, for Ctrl-C.
 * NOTE: the Content-Security-Policy allows exactly this text by its SHA-256 (copyScriptHash); any change to it is
 * picked up there, since the hash is computed from this constant.
 */
export const COPY_SCRIPT = `(function () {
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-copy"));
      if (!target) return;
      var text = target.textContent.trim();
      var done = function () { button.textContent = "Copied"; };
      if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, function () { select(target); });
      else select(target);
    });
  });
})();`;

let hash: string | null = null;

/** The CSP source that allows COPY_SCRIPT: 'sha256-<base64 of its UTF-8 bytes' digest>'. */
export async function copyScriptHash(): Promise<string> {
  // NOTE: the value is cached, not the promise, so no request awaits a promise another request started.
  if (hash === null) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(COPY_SCRIPT)));
    hash = `'sha256-${btoa(String.fromCharCode(...digest))}'`;
  }
  return hash;
}

/** A Copy button for the element with id `target` (one per page: the script wires every button it finds). */
export const CopyButton: FC<{ target: string }> = ({ target }) => (
  <>
    <button type="button" class="secondary copy" data-copy={target} data-testid="copy-secret" hidden>
      Copy
    </button>
    <script dangerouslySetInnerHTML={{ __html: COPY_SCRIPT }} />
  </>
);
