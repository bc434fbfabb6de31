// The runtime seam, chosen once at start: Bun when `Bun` exists, Deno when `Deno` does.
import { bun } from "./bun.ts";
import { deno } from "./deno.ts";
import type { Runtime } from "./runtime.ts";

export { bun } from "./bun.ts";
export { deno } from "./deno.ts";
export {
  type ChildProcess,
  ConnectError,
  type ConnectFailure,
  type ExitStatus,
  type PtyOptions,
  type PtyProcess,
  type Runtime,
  type RuntimeName,
  type ShutdownSignal,
  SpawnError,
  type SpawnFailure,
  type SpawnOptions,
  type TcpConn,
  type TcpListener,
  type WriteFileOptions,
} from "./runtime.ts";

/** The runtime this process runs on; throws when it is neither Bun nor Deno. */
export function detectRuntime(): Runtime {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (typeof g.Bun !== "undefined") return bun;
  if (typeof g.Deno !== "undefined") return deno;
  throw new Error("this agent runs on Bun or Deno");
}
