// How a test reaches an exposure: one place that knows where exposures are served, so that tests of
// what an exposure does (headers, bodies, cookies) do not each spell out its URL.
import { request } from "node:http";
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

export function exposureAddress(stack: Pick<Stack, "url">, name: string): ExposureAddress {
  const cp = new URL(stack.url);
  return {
    url: `${stack.url}/x/${name}/`,
    host: cp.hostname,
    port: Number(cp.port),
    hostHeader: cp.host,
    prefix: `/x/${name}`,
  };
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
