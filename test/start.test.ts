// `npm start` as a new user meets it: first run bootstraps, the env file works with the CLI, Ctrl-C
// stops every child, a second start keeps the data, the database answers only to its token, and a busy
// port fails clearly.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "@libsql/client";
import { afterEach, expect, it } from "vitest";
import { eventually } from "./harness/agent.ts";
import { CLI_BIN, runCli } from "./harness/cli.ts";
import { freePort, isListening, type Running, start } from "./harness/process.ts";
import { startSshd } from "./harness/sshd.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const run = promisify(execFile);
const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop("SIGKILL");
});

function startLocal(env: Record<string, string>): Running {
  const r = start(process.execPath, ["--import", "tsx", join(root, "scripts/start.ts")], {
    cwd: root,
    env: { ...process.env, ...env },
  });
  running.push(r);
  return r;
}

/** One raw Hrana pipeline that would write an admin API key into the tenants' database. */
const INSERT_KEY =
  "INSERT INTO api_keys (id, tenant_id, name, prefix, hash, role, created_by, created_at) SELECT 'key_x', id, 'x', 'opk_x', 'h', 'admin', 'x', 0 FROM tenants";

async function insertKeyPipeline(dbPort: string, authorization?: string): Promise<Response> {
  const stmt = { sql: INSERT_KEY, args: [] };
  return fetch(`http://127.0.0.1:${dbPort}/v2/pipeline`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ requests: [{ type: "execute", stmt }, { type: "close" }] }),
  });
}

function readEnv(home: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of readFileSync(join(home, "env"), "utf8").matchAll(/^export (\w+)=(.*)$/gm))
    out[m[1]!] = m[2]!;
  return out;
}

it("runs the whole stack, keeps data across restarts and stops every child on a signal", async () => {
  const home = mkdtempSync(join(tmpdir(), "outpost-home-"));
  // secrets.json as an older `npm start` wrote it, before the database had a token: it gains one.
  const older = { adminToken: `opa_${"o".repeat(43)}`, signingKey: "A".repeat(43) };
  writeFileSync(join(home, "secrets.json"), JSON.stringify(older), { mode: 0o600 });
  const ports = { OUTPOST_PORT: String(await freePort()), OUTPOST_DB_PORT: String(await freePort()) };
  // The local agent gets its services from OUTPOST_AGENT_FLAGS (argv words, no shell), so that
  // `outpost ssh local.dev` reaches this machine's sshd as the README says.
  const sshd = await startSshd();
  const agentFlags = `--service 'ssh=127.0.0.1:${sshd.port}'`;
  const first = startLocal({ OUTPOST_HOME: home, ...ports, OUTPOST_AGENT_FLAGS: agentFlags });
  await first.waitFor(/Outpost is running/, 90_000);
  expect(first.output()).toContain(`source ${join(home, "env")}`);
  expect(first.output()).toContain(`runs with --allow-loopback --service ssh=127.0.0.1:${sshd.port}`);
  expect(first.output()).toContain(`services: ssh=127.0.0.1:${sshd.port}`);

  const secrets = JSON.parse(readFileSync(join(home, "secrets.json"), "utf8"));
  expect(secrets).toMatchObject(older);
  expect(secrets.dbAuthToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(statSync(join(home, "secrets.json")).mode & 0o777).toBe(0o600);
  // The libSQL server as `npm start` runs it refuses a pipeline without its token or with another,
  // and runs none of it: no admin key appears.
  for (const authorization of [undefined, "Bearer wrong", `Bearer ${secrets.dbAuthToken}x`, "Basic x"]) {
    const res = await insertKeyPipeline(ports.OUTPOST_DB_PORT, authorization);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toMatch(/Authorization: Bearer/);
  }
  const db = createClient({
    url: `http://127.0.0.1:${ports.OUTPOST_DB_PORT}`,
    authToken: secrets.dbAuthToken,
  });
  try {
    expect((await db.execute("SELECT count(*) AS n FROM api_keys WHERE id = 'key_x'")).rows[0]?.n).toBe(0);
    // …though with the token the same statement would have written one (rolled back here).
    const tx = await db.transaction("write");
    expect((await tx.execute(INSERT_KEY)).rowsAffected).toBe(1);
    await tx.rollback();
  } finally {
    db.close();
  }

  const env = readEnv(home);
  expect(env.OUTPOST_URL).toBe(`http://127.0.0.1:${ports.OUTPOST_PORT}`);
  expect(env.OUTPOST_TOKEN).toMatch(/^opk_/);
  expect(env.OUTPOST_ADMIN_TOKEN).toBe(older.adminToken);
  expect(statSync(join(home, "env")).mode & 0o777).toBe(0o600);
  const cli = { ...env, XDG_CONFIG_HOME: home };

  expect(
    JSON.parse((await runCli(["cluster", "ls", "--json"], cli)).stdout).items.map(
      (c: { name: string }) => c.name,
    ),
  ).toEqual(["dev"]);
  expect((await runCli(["site", "ls", "dev"], cli)).stdout).toContain("dev/local");
  expect((await runCli(["cluster", "create", "kept"], cli)).code).toBe(0);
  // The local agent is enrolled and answers exec right after start.
  await eventually(async () => {
    const uname = await runCli(["exec", "local.dev", "--", "uname", "-s"], cli);
    expect(uname).toMatchObject({ code: 0, stdout: "Linux\n" });
  });
  // …and ssh through `outpost proxy` to a bare loopback port works, as the README shows.
  try {
    const viaService = await runCli(
      ["ssh", "local.dev", "-l", sshd.user, ...sshd.clientOptions, "echo", "ssh-service-ok"],
      cli,
    );
    expect(viaService, viaService.stderr).toMatchObject({ code: 0, stdout: "ssh-service-ok\n" });
    const proxy = `ProxyCommand=${process.execPath} ${CLI_BIN} proxy %h ${sshd.port}`;
    const ssh = await run(
      "ssh",
      [...sshd.clientOptions, "-o", proxy, `${sshd.user}@local.dev`, "echo", "ssh-ok"],
      {
        env: { ...process.env, ...cli },
      },
    );
    expect(ssh.stdout).toBe("ssh-ok\n");
  } finally {
    await sshd.stop();
  }
  expect((await runCli(["tenant", "create", "second"], cli)).code).toBe(0);

  // 0, or 130 when Miniflare's exit hook ends the process first: either way on its own, not SIGKILLed.
  expect([0, 130]).toContain(await first.stop("SIGINT"));
  expect(await isListening(Number(ports.OUTPOST_PORT))).toBe(false);
  const agentPid = Number(/agent\s+local\.dev \(pid (\d+)/.exec(first.output())?.[1]);
  expect(agentPid).toBeGreaterThan(0);
  await eventually(async () => expect(() => process.kill(agentPid, 0)).toThrow());
  expect(await isListening(Number(ports.OUTPOST_DB_PORT))).toBe(false);

  const second = startLocal({ OUTPOST_HOME: home, ...ports });
  await second.waitFor(/Outpost is running/, 90_000);
  // Without flags or a config file the banner says the agent has no services, and how to give some.
  expect(second.output()).toContain("services: none");
  expect(second.output()).toContain('OUTPOST_AGENT_FLAGS="--service ssh=127.0.0.1:22" npm start');
  expect(readEnv(home).OUTPOST_TOKEN).toBe(env.OUTPOST_TOKEN);
  // Same host identity after a restart: one `local` host, online again.
  await eventually(async () => {
    const hosts = JSON.parse((await runCli(["hosts", "--json"], cli)).stdout).items;
    expect(hosts.map((h: { fqdn: string; status: string }) => `${h.fqdn} ${h.status}`)).toEqual([
      "local.dev online",
    ]);
  });
  const clusters = JSON.parse((await runCli(["cluster", "ls", "--json"], cli)).stdout).items.map(
    (c: { name: string }) => c.name,
  );
  expect(clusters).toEqual(["dev", "kept"]);
  expect([0, 143]).toContain(await second.stop("SIGTERM"));
});

it("fails with a clear message when a port is in use", async () => {
  const blocker = createServer();
  const port = await new Promise<number>((resolve) =>
    blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as { port: number }).port)),
  );
  try {
    const home = mkdtempSync(join(tmpdir(), "outpost-home-"));
    const r = startLocal({
      OUTPOST_HOME: home,
      OUTPOST_PORT: String(port),
      OUTPOST_DB_PORT: String(await freePort()),
    });
    expect(await r.exited).toBe(1);
    expect(r.output()).toContain(`127.0.0.1:${port} is already in use`);
    expect(r.output()).toContain("OUTPOST_PORT");
  } finally {
    blocker.close();
  }
});

it("refuses OUTPOST_AGENT_FLAGS that only a shell would understand, before starting anything", async () => {
  const home = mkdtempSync(join(tmpdir(), "outpost-home-"));
  const r = startLocal({
    OUTPOST_HOME: home,
    OUTPOST_PORT: String(await freePort()),
    OUTPOST_DB_PORT: String(await freePort()),
    OUTPOST_AGENT_FLAGS: "--service ssh=127.0.0.1:22; touch /tmp/outpost-pwned",
  });
  expect(await r.exited).toBe(1);
  expect(r.output()).toContain("OUTPOST_AGENT_FLAGS: ';' is not allowed");
});
