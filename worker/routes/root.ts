// `GET /` on the control plane's origin for programs: who answers here and where to go next, as
// JSON. A browser (Accept: text/html) is passed on to the dashboard (worker/dashboard/).
import { Hono } from "hono";
import packageJson from "../../package.json" with { type: "json" };
import type { AppEnv } from "../env.ts";
import { requestOrigin } from "../expose/origins.ts";
import { wantsHtml } from "../http/html-page.ts";

const LINKS = {
  health: "/healthz",
  api: "/v1",
  install: "/install.sh",
  agent: "/agent.js",
};

export const rootRoutes = new Hono<AppEnv>().get("/", async (c, next) => {
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
  // Browsers get the dashboard (worker/dashboard/, mounted after this route).
  if (wantsHtml(c.req.header("accept"))) return next();
  return c.json(info, 200, { vary: "Accept" });
});
