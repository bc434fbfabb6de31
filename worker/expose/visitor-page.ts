// What a person (not a program) sees on an exposure's origin when it refuses them. A browser that
// opens an exposure without credentials gets a page saying what is needed and how to get it; API
// clients (no `text/html` in Accept before JSON) keep the JSON error. Visitors who are not the
// tenant's key holders (link and public visitors) never hear the host's reasons in a 502: the agent's
// "unknown service 'x' (known: a, b)" names the host's services, so they get a generic message and
// the tenant's keys see the detail.
import { ApiError } from "../http/api-error.ts";
import { escapeHtml, htmlPage, wantsHtml } from "../http/html-page.ts";

/**
 * A 502 for callers who are not the tenant's: its code says what kind of failure it was
 * (`host_offline`, `host_revoked`, `refused`), the message nothing about which hosts or services exist.
 */
export function visitorBadGateway(err: ApiError): ApiError {
  return new ApiError(
    502,
    err.code,
    "the service behind this exposure is not reachable right now; its owner can see why in 'outpost sessions'",
    err.headers,
  );
}

function _body(err: ApiError, exposure: string | undefined): { title: string; html: string } {
  const name = exposure ? `<code>${escapeHtml(exposure)}</code>` : "this exposure";
  if (err.status === 401) {
    const link = exposure ? `outpost expose link ${escapeHtml(exposure)}` : "outpost expose link <name>";
    return {
      title: "A key or a share link is needed",
      html: `<p>${name} is served through Outpost and is not public. ${escapeHtml(err.message)}.</p>
<p>If someone sent you here, ask them for a <strong>share link</strong>: they make one with
<code>${link}</code>, and opening it lets this browser in until the link expires.</p>
<p>Programs can send an API key of the exposure's tenant instead:
<code>Authorization: Bearer opk_…</code>.</p>`,
    };
  }
  if (err.status === 403) {
    return { title: "Not allowed", html: `<p>${escapeHtml(err.message)}.</p>` };
  }
  if (err.status === 404) {
    return { title: "No such exposure", html: `<p>${escapeHtml(err.message)}.</p>` };
  }
  return { title: "The service is not reachable", html: `<p>${escapeHtml(err.message)}.</p>` };
}

/** The refusal as a page, when the request came from a browser that asks for HTML; else undefined. */
export function visitorPage(req: Request, err: ApiError, exposure?: string): Response | undefined {
  if (!wantsHtml(req.headers.get("accept"))) return undefined;
  if (err.status !== 401 && err.status !== 403 && err.status !== 404 && err.status !== 502) return undefined;
  const { title, html } = _body(err, exposure);
  const headers: Record<string, string> = { ...err.headers };
  // RFC 9110 §15.5.2: a 401 names its scheme. Bearer never makes a browser show a password dialog.
  if (err.status === 401) headers["www-authenticate"] = 'Bearer realm="outpost exposure"';
  return htmlPage(err.status, title, html, headers);
}
