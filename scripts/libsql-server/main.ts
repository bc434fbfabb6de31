// `npm run db:serve -- --db FILE [--host 127.0.0.1] [--port 8080] (--auth-token T | --no-auth)`, or
// `node --import tsx scripts/libsql-server/main.ts …` (`--help` for usage; usage errors exit 2): serves a libSQL database file over Hrana over HTTP
// until SIGINT/SIGTERM. A token is required unless --no-auth says otherwise: every local process can
// reach a loopback port.
import { parseArgs } from "node:util";
import { startLibsqlServer } from "./server.ts";

const USAGE = `usage: npm run db:serve -- --db FILE [--host 127.0.0.1] [--port 8080] (--auth-token T | --no-auth)
   or: node --import tsx scripts/libsql-server/main.ts [the same options]

Serves the libSQL database FILE over Hrana over HTTP (v2 and v3, JSON: pipelines and the v3 cursor),
the protocol @libsql/client speaks, until Ctrl-C.

  --db FILE          the database file (created if missing)
  --host ADDR        the address to listen on (default 127.0.0.1)
  --port N           the port (default 8080; 0 picks a free one)
  --auth-token T     clients must send 'Authorization: Bearer T'
  --no-auth          serve without a token (any local process can then read and write the file)
  --help             print this help

exit codes: 0 ok, 1 failure, 2 usage error`;

function _fail(message: string): never {
  console.error(`libsql-server: ${message}`);
  process.exit(1);
}

function _usage(message: string): never {
  console.error(`libsql-server: ${message}\n${USAGE}`);
  process.exit(2);
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
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    return _usage((err as Error).message);
  }
}

async function main(): Promise<void> {
  const values = _options();
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.db) _usage("missing --db FILE");
  if ((values["auth-token"] === undefined) === (values["no-auth"] !== true)) {
    _usage("give either --auth-token T (clients then send it as a bearer token) or --no-auth");
  }
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) {
    _usage(`--port ${values.port} is not a port number (0-65535)`);
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
