// Response headers of every dashboard page and asset. The policy allows scripts only from this origin
// (no inline script, no eval) and no framing. Styles also allow 'unsafe-inline' because xterm.js sizes
// and themes its terminal through a <style> element it creates at run time; an inline style cannot run
// code, which is what script-src guards.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
  "base-uri 'none'",
].join("; ");

export const pageHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  c.header("content-security-policy", CONTENT_SECURITY_POLICY);
  c.header("x-frame-options", "DENY");
  c.header("x-content-type-options", "nosniff");
  // Not no-referrer: with it Chromium sends `Origin: null` on form posts, which same-origin.ts refuses.
  c.header("referrer-policy", "same-origin");
  c.header("cross-origin-opener-policy", "same-origin");
  if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
});
