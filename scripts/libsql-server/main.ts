// `npm run db:serve -- --db FILE [--host 127.0.0.1] [--port 8080] [--auth-token T]`, or
// `node --import tsx scripts/libsql-server/main.ts …`: serves a libSQL database file over Hrana over HTTP
// until SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import { startLibsqlServer } from "./server.ts";

const USAGE =
  "usage: node --import tsx scripts/libsql-server/main.ts --db FILE [--host 127.0.0.1] [--port 8080] [--auth-token T]";

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
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) {
    _fail(`--port ${values.port} is not a port number (0-65535)`);
  }
  const server = await startLibsqlServer({
    path: values.db,
    host: values.host,
    port: Number(values.port),
    ...(values["auth-token"] ? { authToken: values["auth-token"] } : {}),
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
