// GET /install.sh and GET /agent.js: what `curl … | sh` fetches. Public: neither holds a secret.
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { AGENT_BUNDLE } from "../generated/agent-bundle.ts";
import { installScript } from "../install/install-sh.ts";

export const installRoutes = new Hono<AppEnv>()
  .get("/install.sh", (c) => {
    const origin = c.env.PUBLIC_URL ?? new URL(c.req.url).origin;
    return c.body(installScript(origin), 200, {
      "content-type": "text/x-shellscript; charset=utf-8",
      "cache-control": "no-store",
    });
  })
  .get("/agent.js", (c) =>
    c.body(AGENT_BUNDLE, 200, {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "no-cache",
    }),
  );
