// Connecting a stream's socket, with a deadline, and saying in one line why it failed: the line goes
// back to the person who asked in `close {reason}` ("nobody is listening on 127.0.0.1:5432 (connection
// refused)").
import { oneLine } from "../errors.ts";
import { ConnectError, type Runtime, type TcpConn } from "../runtime/index.ts";
import { _within } from "./_within.ts";

/** How long a connect may take before the stream is refused. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** `host:port`, with brackets for IPv6. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A connection to `host`:`port`; rejects with ConnectError, "timeout" after `ms`. */
export function connectWithin(
  runtime: Pick<Runtime, "connect">,
  host: string,
  port: number,
  ms = CONNECT_TIMEOUT_MS,
): Promise<TcpConn> {
  return _within(
    runtime.connect(host, port),
    ms,
    () => new ConnectError("timeout", `timed out after ${ms / 1000} s`),
    (late) => late.close(),
  );
}

/** Why connecting to `host`:`port` failed, as one line for the person who asked. */
export function connectFailure(error: unknown, host: string, port: number): string {
  const where = hostPort(host, port);
  const detail = oneLine(error instanceof Error ? error.message : String(error))
    .replace(/\s*\(os error \d+\)$/, "")
    .slice(0, 200);
  if (!(error instanceof ConnectError)) return `cannot connect to ${where} (${detail})`;
  switch (error.reason) {
    case "refused":
      return `nobody is listening on ${where} (connection refused)`;
    case "timeout":
      return `cannot reach ${where} (${detail})`;
    case "unreachable":
      return `cannot reach ${where} (${detail.toLowerCase()})`;
    case "not_found":
      return `cannot resolve ${host} (${detail})`;
    default:
      return `cannot connect to ${where} (${detail})`;
  }
}
