// `GET /` on the control plane's origin: who answers here and where to go next. JSON for programs,
// a small page for browsers (http/html-page.ts). One module, so that a web dashboard can take `/`
// later by replacing this route alone.
import { Hono } from "hono";
import packageJson from "../../package.json" with { type: "json" };
import type { AppEnv } from "../env.ts";
import { requestOrigin } from "../expose/origins.ts";
import { escapeHtml, htmlPage, wantsHtml } from "../http/html-page.ts";

const LINKS = {
  health: "/healthz",
  api: "/v1",
  install: "/install.sh",
  agent: "/agent.js",
};

export const rootRoutes = new Hono<AppEnv>().get("/", (c) => {
  // Only on the control plane's own hostnames: a custom hostname that is nobody's falls through to the
  // API, which then serves nothing there (not even this description).
  if (requestOrigin(c.env, c.req.header("host")).kind !== "api") return c.notFound();
  const info = {
    name: "outpost" as const,
    version: packageJson.version,
    description:
      "Outpost control plane: the HTTP API is under /v1 (bearer API keys), agents connect to /v1/agent/connect",
    docs: "README.md of the Outpost repository ('The CLI', 'The SDK', 'The HTTP API'); `npx outpost --help`",
    links: LINKS,
  };
  if (!wantsHtml(c.req.header("accept"))) return c.json(info, 200, { vary: "Accept" });
  const origin = c.env.PUBLIC_URL ?? new URL(c.req.url).origin;
  return htmlPage(
    200,
    `Outpost ${info.version}`,
    `<p>This is an Outpost control plane. There is nothing to click here yet: it is driven by the
<code>outpost</code> CLI and the SDK.</p>
<pre><code>npx outpost login ${escapeHtml(origin)} --token opk_…
npx outpost hosts</code></pre>
<p>Health: <a href="${LINKS.health}">${LINKS.health}</a> · agent installer:
<a href="${LINKS.install}">${LINKS.install}</a> · the API: <code>${LINKS.api}</code> (JSON, bearer API keys).</p>`,
  );
});
