// The dashboard's client scripts and styles, bundled at build time (scripts/build.ts, `dashboard`) into
// worker/generated/dashboard-assets.ts, so the Worker serves them itself: no CDN, works offline.
import type { Context } from "hono";
import type { AppEnv } from "../env.ts";
import { DASHBOARD_ASSETS } from "../generated/dashboard-assets.ts";
import { ApiError } from "../http/api-error.ts";

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

export function serveAsset(c: Context<AppEnv>): Response {
  const file = c.req.param("file") ?? "";
  const body = Object.hasOwn(DASHBOARD_ASSETS, file) ? DASHBOARD_ASSETS[file] : undefined;
  if (body === undefined) throw ApiError.notFound(`asset '${file.slice(0, 64)}'`);
  const type = TYPES[file.split(".").pop() ?? ""] ?? "application/octet-stream";
  return c.body(body, 200, { "content-type": type, "cache-control": "public, max-age=300" });
}
