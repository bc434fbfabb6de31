// The few HTML pages the Worker answers browsers with (an exposure's "a key or a link is needed", the
// control plane's front page). Static text only, no script: the Content-Security-Policy allows
// nothing but the page's one stylesheet, by hash (CSP 3 §"hash-source"), so nothing injected into a
// page could run or load, and the page cannot be framed (clickjacking) or cached.
import { sha256 } from "@noble/hashes/sha2.js";

const STYLE =
  "body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}" +
  "code{background:#f2f2f2;padding:0 .25em;border-radius:3px}h1{font-size:1.4rem}";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text for an HTML text node or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

/**
 * Whether a request's Accept header (RFC 9110 §12.5.1) asks for HTML before JSON: what browsers send
 * on a navigation (`text/html,…,*\/*;q=0.8`). API clients (curl's and fetch's `*\/*`, the SDK's JSON)
 * keep the JSON error.
 */
export function wantsHtml(accept: string | null | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(",").map((part) => {
    const [type = "", ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return { type: type.trim(), q: q ? Number(q.slice(2)) : 1 };
  });
  const q = (type: string) => types.find((t) => t.type === type)?.q ?? 0;
  return q("text/html") > 0 && q("text/html") >= q("application/json");
}

function _base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** A whole page: `title` is text, `bodyHtml` is markup the caller built with escapeHtml. */
export function htmlPage(
  status: 200 | 401 | 403 | 404 | 502,
  title: string,
  bodyHtml: string,
  headers: Record<string, string> = {},
): Response {
  const styleHash = _base64(sha256(new TextEncoder().encode(STYLE)));
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${bodyHtml}
</body></html>
`;
  return new Response(html, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": `default-src 'none'; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "no-referrer",
      vary: "Accept",
      ...headers,
    },
  });
}
