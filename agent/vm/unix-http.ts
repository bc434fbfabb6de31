// JSON over HTTP/1.1 on a unix socket: how Firecracker and Cloud Hypervisor take their commands.
// node:http's socketPath, which Bun and Deno both implement natively.

import { request } from "node:http";
import { VmError } from "./driver.ts";

/** An answer larger than this is not one of these APIs': refused rather than buffered. */
const MAX_BODY_BYTES = 1 << 20;

export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** Sends `method path` with `body` as JSON; rejects with VmError when the socket does not answer. */
export function apiRequest(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<ApiAnswer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method,
        path,
        timeout: timeoutMs,
        headers: {
          accept: "application/json",
          ...(payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) req.destroy(new Error("answer over 1 MiB"));
          else chunks.push(chunk);
        });
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: kept as text for the error message
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (error) =>
      reject(new VmError(`Cannot reach the VM monitor at ${socketPath}: ${error.message}`)),
    );
    req.end(payload);
  });
}

/** The monitor's own words for a refusal: Firecracker's `fault_message`, or the body as text. */
export function faultOf(answer: ApiAnswer): string {
  const body = answer.body as { fault_message?: unknown } | string | undefined;
  const text =
    typeof body === "object" && body && "fault_message" in body
      ? String(body.fault_message)
      : String(body ?? "");
  return `${answer.status}${text ? ` ${text.slice(0, 300)}` : ""}`;
}
