// The typed client. Its request and response types come from the Worker's own routes through hono's
// `hc<AppType>`, so a route change that breaks callers fails the type-check instead of production.
import { type ClientResponse, hc } from "hono/client";
import type { AppType } from "../worker/app.ts";
import { OutpostApiError, OutpostConnectionError } from "./errors.ts";

export interface ClientOptions {
  /** The control plane's origin, e.g. http://127.0.0.1:8787 */
  url: string;
  /** An API key (`opk_…`) or, for tenant management, the platform admin token. */
  token: string;
  fetch?: typeof fetch;
}

export type Api = ReturnType<typeof hc<AppType>>;

/** The JSON body type(s) of a typed response. */
export type Body<R> = R extends ClientResponse<infer T, infer _S, infer _F> ? T : never;

/** Awaits a typed response: its JSON body on success, OutpostApiError otherwise. */
// biome-ignore lint/suspicious/noExplicitAny: any ClientResponse, whatever its status and format
export async function unwrap<R extends ClientResponse<any, any, any>>(
  url: string,
  pending: Promise<R>,
): Promise<Body<R>> {
  let res: R;
  try {
    res = await pending;
  } catch (err) {
    throw new OutpostConnectionError(url, err);
  }
  if (res.ok) return (await res.json()) as Body<R>;
  const text = await res.text();
  let code = "http_error";
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    if (text) message = `${message}: ${text.slice(0, 200)}`;
  }
  throw new OutpostApiError(res.status, code, message);
}

export function createApi(opts: ClientOptions): Api {
  return hc<AppType>(opts.url.replace(/\/+$/, ""), {
    headers: { authorization: `Bearer ${opts.token}` },
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
}
