// How a test reaches an exposure: one place that knows where exposures are served, so that tests of
// what an exposure does (headers, bodies, cookies) do not each spell out its URL.
import { once } from "node:events";
import { request } from "node:http";
import { Readable } from "node:stream";
import type { Stack } from "./stack.ts";

/** Where an exposure is served, as a test reaches it over loopback. */
export interface ExposureAddress {
  /** The URL a browser or curl would open (with its trailing slash). */
  url: string;
  /** The control plane's loopback address: every test connection goes here. */
  host: string;
  port: number;
  /** The Host header a request to the exposure carries. */
  hostHeader: string;
  /** What comes before the service's own path in the request target ("" on an origin of its own). */
  prefix: string;
}

/**
 * Exposures are served on origins of their own: `http://<name>.localhost:<port>/` in tests (the
 * stack's EXPOSURE_DOMAIN is localhost), which browsers and curl resolve to loopback; Node's resolver
 * may not, so requests from Node connect to the control plane's loopback address with that Host.
 */
export function exposureAddress(stack: Pick<Stack, "url">, name: string): ExposureAddress {
  const cp = new URL(stack.url);
  return {
    url: `http://${name}.localhost:${cp.port}/`,
    host: cp.hostname,
    port: Number(cp.port),
    hostHeader: `${name}.localhost:${cp.port}`,
    prefix: "",
  };
}

/**
 * fetch() for an exposure's URL (`http://<name>.localhost:<port>/…`, or any loopback URL): fetch
 * cannot set Host, so this connects to 127.0.0.1:<port> through node:http with the URL's host as
 * Host. Bodies stream both ways (a ReadableStream body goes chunked); redirects are not followed.
 */
export function exposureFetch(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Uint8Array | ReadableStream<Uint8Array>;
  } = {},
): Promise<Response> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: Number(target.port),
        method: init.method ?? "GET",
        path: `${target.pathname}${target.search}`,
        headers: { ...init.headers, host: target.host },
        setHost: false,
      },
      (res) => {
        const headers = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
        const status = res.statusCode ?? 0;
        const empty = init.method === "HEAD" || status === 204 || status === 304;
        if (empty) res.resume();
        const body = empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
        resolve(new Response(body, { status, statusText: res.statusMessage ?? "", headers }));
      },
    );
    req.on("error", reject);
    if (init.body instanceof ReadableStream) {
      const reader = init.body.getReader();
      void (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (!req.write(value)) await once(req, "drain");
        }
        req.end();
      })().catch((err: Error) => req.destroy(err));
    } else req.end(init.body);
  });
}

export interface RawResponse {
  status: number;
  /** Header lines exactly as received, in order (repeated headers stay separate). */
  rawHeaders: [string, string][];
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * One HTTP/1.1 request to the exposure through node:http, which (unlike fetch) lets a test send the
 * same header twice and any header name, as a hostile client would. `headers` is a list of pairs.
 */
export function exposureRequest(
  address: ExposureAddress,
  path: string,
  opts: { method?: string; headers?: [string, string][]; body?: string | Uint8Array } = {},
): Promise<RawResponse> {
  const flat: string[] = ["host", address.hostHeader];
  for (const [k, v] of opts.headers ?? []) flat.push(k, v);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: address.host,
        port: address.port,
        method: opts.method ?? "GET",
        path: `${address.prefix}${path}`,
        headers: flat,
        setHost: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const pairs: [string, string][] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2)
            pairs.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
          resolve({
            status: res.statusCode ?? 0,
            rawHeaders: pairs,
            headers: res.headers,
            body: Buffer.concat(chunks),
          });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}
