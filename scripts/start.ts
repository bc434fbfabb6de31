// `npm start`: the whole of Outpost on this machine. A libSQL server on OUTPOST_HOME/outpost.db, the
// migrations, the Worker in Miniflare (real workerd) on 127.0.0.1:OUTPOST_PORT, first-run data, and an
// env file with the credentials. Ctrl-C stops everything; the next start keeps all data.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCli } from "./build.ts";
import { startLibsqlServer } from "./libsql-server/server.ts";
import { parseAgentFlags } from "./local/agent-flags.ts";
import { bootstrapLocal } from "./local/bootstrap.ts";
import { startControlPlane } from "./local/control-plane.ts";
import { startLocalAgent } from "./local/local-agent.ts";
import { assertPortFree } from "./local/ports.ts";
import { loadSecrets, saveSecrets } from "./local/secrets.ts";
import { migrateDatabase } from "./migrate.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const home = resolve(process.env.OUTPOST_HOME ?? join(root, ".outpost"));
const host = "127.0.0.1";

function port(name: string, fallback: number): number {
  const text = process.env[name];
  const n = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new Error(`${name}=${text} is not a port number (1-65535)`);
  return n;
}

async function main(): Promise<void> {
  const cpPort = port("OUTPOST_PORT", 8787);
  const dbPort = port("OUTPOST_DB_PORT", 8080);
  const agentFlags = parseAgentFlags(process.env.OUTPOST_AGENT_FLAGS);
  await assertPortFree(host, dbPort, "libSQL server", "OUTPOST_DB_PORT");
  await assertPortFree(host, cpPort, "control plane", "OUTPOST_PORT");

  mkdirSync(home, { recursive: true, mode: 0o700 });
  const secrets = loadSecrets(home);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      console.log(`\noutpost: ${signal}, stopping…`);
      void stopAll().then(() => process.exit(0));
    });
  }

  try {
    // The database holds every tenant's data and the API keys' hashes: any local process that could
    // reach it could read them or insert an admin key, so it answers only to the token in secrets.json.
    const db = await startLibsqlServer({
      path: join(home, "outpost.db"),
      host,
      port: dbPort,
      authToken: secrets.dbAuthToken,
    });
    stops.push(() => db.close());
    await migrateDatabase(db.url, secrets.dbAuthToken);

    // The CLI bundle, so that the `npx outpost` commands typed next start without compiling TypeScript.
    await buildCli();
    const cp = await startControlPlane({
      databaseUrl: db.url,
      databaseAuthToken: secrets.dbAuthToken,
      adminToken: secrets.adminToken,
      signingKey: secrets.signingKey,
      host,
      port: cpPort,
      publicUrl: `http://${host}:${cpPort}`,
      exposureDomain: "localhost",
      persistDir: join(home, "durable-objects"),
      r2PersistDir: join(home, "r2"),
    });
    stops.push(() => cp.close());

    const tenantKey = await bootstrapLocal(cp.url, secrets.adminToken, secrets.tenantKey);
    if (tenantKey !== secrets.tenantKey) saveSecrets(home, { ...secrets, tenantKey });

    const agent = await startLocalAgent({ url: cp.url, token: tenantKey, home, flags: agentFlags });
    stops.push(async () => {
      agent.kill("SIGTERM");
    });

    const envFile = join(home, "env");
    writeFileSync(
      envFile,
      [
        `export OUTPOST_URL=${cp.url}`,
        `export OUTPOST_TOKEN=${tenantKey}`,
        `export OUTPOST_ADMIN_TOKEN=${secrets.adminToken}`,
        "",
      ].join("\n"),
      { mode: 0o600 },
    );

    console.log(`Outpost is running.
  control plane  ${cp.url}
  exposures      http://<name>.localhost:${cpPort}/  (each on an origin of its own)
  libSQL         ${db.url}  (${join(home, "outpost.db")}; its token is dbAuthToken in secrets.json)
  tenant         local, cluster dev, site dev/local
  agent          local.dev (pid ${agent.pid}, Bun)
                 ${_agentSummary(agentFlags, join(home, "agent", "agent.toml"))}

In another shell:
  source ${envFile}
  npx outpost hosts
  npx outpost exec local.dev -- uname -a
  npx outpost token create dev/local --ttl 30m

Ctrl-C stops everything; data stays in ${home}.`);
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** What the local agent runs with, and how to change it: it has no services unless given some. */
function _agentSummary(flags: readonly string[], configFile: string): string {
  const services = flags.flatMap((f, i) => (f === "--service" && flags[i + 1] ? [flags[i + 1]] : []));
  const given = flags.length > 0 ? ` ${flags.join(" ")}` : "";
  const lines = [
    `runs with --allow-loopback${given}`,
    services.length > 0
      ? `services: ${services.join(", ")}${existsSync(configFile) ? ` (and those in ${configFile})` : ""}`
      : existsSync(configFile)
        ? `services: those in ${configFile}`
        : "services: none, so 'outpost ssh local.dev' has no ssh to reach; give it some:",
  ];
  if (services.length === 0 && !existsSync(configFile)) {
    lines.push(
      `  OUTPOST_AGENT_FLAGS="--service ssh=127.0.0.1:22" npm start   (or a [services] table in ${configFile})`,
    );
  }
  return lines.join("\n                 ");
}

main().catch((err: unknown) => {
  console.error(`outpost: cannot start: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
