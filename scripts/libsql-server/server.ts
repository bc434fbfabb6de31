// A local libSQL server: one database file served over Hrana over HTTP (JSON, v2 and v3), so that the
// Worker reaches it through `@libsql/client/web` exactly as it reaches Turso (HRANA_3_SPEC.md §"Hrana
// over HTTP").
//
// Every stream gets its own SQLite connection; the file is in WAL mode, so readers never wait and one
// writer at a time holds the lock (busy-retry.ts). One extra connection stays open for the server's
// lifetime: it switches the file to WAL and keeps the WAL and shared-memory files alive between streams,
// instead of every short-lived stream recreating and checkpointing them.
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, resolve } from "node:path";
import Database from "libsql";
import { createRequestHandler } from "./http-handler.ts";
import { StreamRegistry } from "./stream-registry.ts";

export interface LibsqlServerOptions {
  /** The database file; created if missing. */
  path: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /**
   * Pipelines need `Authorization: Bearer <authToken>`. Required, so that no caller serves a database
   * to every local process by leaving it out; null serves without authentication (protocol tests).
   */
  authToken: string | null;
  /** A stream idle this long is closed and its transaction rolled back. Default 10 s, as sqld. */
  streamIdleTimeoutMs?: number;
  /** How long a statement waits for the write lock before failing with SQLITE_BUSY. Default 5 s. */
  busyTimeoutMs?: number;
}

export interface LibsqlServer {
  /** `http://host:port`, for `createClient({ url })`. */
  url: string;
  port: number;
  /** Stops listening, drops connections, rolls back open transactions, closes the file. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

function _fail(reason: string, cause?: unknown): Error {
  return new Error(`Cannot start libSQL server: ${reason}`, cause === undefined ? undefined : { cause });
}

function _checkOptions(opts: LibsqlServerOptions): void {
  if (typeof opts.path !== "string" || opts.path === "") throw _fail("the database path is empty");
  if (opts.path === ":memory:" || opts.path.startsWith("file::memory:")) {
    throw _fail("an in-memory database cannot be shared between streams; give a file path");
  }
  const port = opts.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw _fail(`port ${port} is not 0-65535`);
  if (opts.authToken === undefined) {
    throw _fail("no authToken given (a bearer token, or null to serve without authentication)");
  }
  if (opts.authToken === "") throw _fail("the auth token is empty");
  for (const [name, value] of [
    ["streamIdleTimeoutMs", opts.streamIdleTimeoutMs],
    ["busyTimeoutMs", opts.busyTimeoutMs],
  ] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) throw _fail(`${name} must be ≥ 0`);
  }
}

function _openPrimary(path: string): Database.Database {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw _fail(`cannot open database ${path}: directory ${dir} does not exist`);
  try {
    const db = new Database(path);
    db.exec("PRAGMA journal_mode = WAL");
    return db;
  } catch (err) {
    throw _fail(`cannot open database ${path}: ${(err as Error).message}`, err);
  }
}

function _listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  switch (err.code) {
    case "EADDRINUSE":
      return _fail(`${host}:${port} is already in use`, err);
    case "EACCES":
      return _fail(`no permission to listen on ${host}:${port}`, err);
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
      return _fail(`${host} is not an address of this machine`, err);
    default:
      return _fail(`cannot listen on ${host}:${port}: ${err.message}`, err);
  }
}

function _listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      reject(_listenError(err, host, port));
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

export async function startLibsqlServer(opts: LibsqlServerOptions): Promise<LibsqlServer> {
  _checkOptions(opts);
  const host = opts.host ?? "127.0.0.1";
  // Absolute, so that every stream opens the same file even if the working directory changes.
  const path = resolve(opts.path);
  const primary = _openPrimary(path);
  const registry = new StreamRegistry({
    path,
    idleTimeoutMs: opts.streamIdleTimeoutMs ?? 10_000,
    busyTimeoutMs: opts.busyTimeoutMs ?? 5_000,
  });
  const log = (message: string) => console.error(message);
  const server = createServer(
    createRequestHandler({ registry, authToken: opts.authToken, maxBodyBytes: MAX_BODY_BYTES, log }),
  );
  try {
    await _listen(server, host, opts.port ?? 8080);
  } catch (err) {
    primary.close();
    throw err;
  }
  // Idle keep-alive connections are closed by the client, never by us. With Node's default (close after
  // 5 s idle) a client that reuses a pooled connection just as we close it sees the request fail
  // ("Network connection lost" in workerd): under load, 15 of 100 Worker requests did.
  server.keepAliveTimeout = 0;
  server.on("error", (err) => log(`libsql-server: ${err.message}`));

  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  const close = async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    registry.closeAll();
    primary.close();
  };
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}
