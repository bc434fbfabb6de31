// `npm run db:serve -- --db FILE [--host 127.0.0.1] [--port 8080] (--auth-token T | --no-auth)`, or
// `node --import tsx scripts/libsql-server/main.ts …`: serves a libSQL database file over Hrana over HTTP
// until SIGINT/SIGTERM. A token is required unless --no-auth says otherwise: every local process can
// reach a loopback port.
import { parseArgs } from "node:util";
import { startLibsqlServer } from "./server.ts";

const USAGE =
  "usage: node --import tsx scripts/libsql-server/main.ts --db FILE [--host 127.0.0.1] [--port 8080] (--auth-token T | --no-auth)";

function _fail(message: string): never {
  console.error(`libsql-server: ${message}`);
  process.exit(1);
}

function _options() {
  try {
    return parseArgs({
      options: {
        db: { type: "string" },
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: "8080" },
        "auth-token": { type: "string" },
        "no-auth": { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    return _fail(`${(err as Error).message}\n${USAGE}`);
  }
}

async function main(): Promise<void> {
  const values = _options();
  if (!values.db) _fail(`missing --db FILE\n${USAGE}`);
  if ((values["auth-token"] === undefined) === (values["no-auth"] !== true)) {
    _fail(`give either --auth-token T (clients then send it as a bearer token) or --no-auth\n${USAGE}`);
  }
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) {
    _fail(`--port ${values.port} is not a port number (0-65535)`);
  }
  const server = await startLibsqlServer({
    path: values.db,
    host: values.host,
    port: Number(values.port),
    authToken: values["auth-token"] ?? null,
  });
  console.log(`libsql-server: serving ${values.db} at ${server.url} (Ctrl-C to stop)`);

  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      server.close().then(
        () => process.exit(0),
        (err: unknown) => _fail(`cannot stop cleanly: ${(err as Error).message}`),
      );
    });
  }
}

main().catch((err: unknown) => _fail(err instanceof Error ? err.message : String(err)));
