// Env secrets end to end: the real CLI makes a keeper and sets env (encrypting on this side), a real
// Bun and a real Deno agent are enrolled hosts, one a recipient from the start and one re-sealed for by
// the keeper; each agent's key opens what sealedEnvFor hands it (decoded strictly, in the agent's own
// runtime) and the started "app" sees the value in its environment. The plaintext appears nowhere in
// the libSQL file, Miniflare's Durable Object and R2 storage, the agents' state dirs, or workerd's output.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TenantId } from "../schema/ids.ts";
import { encodeCbor, type HostId } from "../schema/protocol/index.ts";
import { encodeSealedEnvEntry } from "../schema/secrets/index.ts";
import { sealedEnvFor } from "../worker/secrets/sealed-env.ts";
import { eventually, RUNTIMES, startAgent, type TestAgent } from "./harness/agent.ts";
import { CLI_BIN as CLI, runCli } from "./harness/cli.ts";
import { start } from "./harness/process.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const run = promisify(execFile);
const DATABASE_URL = `postgres://shop:pt-${crypto.randomUUID()}@db/shop`;
const API_KEY = `k-${crypto.randomUUID()}`;
const GREETING = `g-${crypto.randomUUID()}`;
const SHOP = fileURLToPath(new URL("../examples/shop", import.meta.url));

let stack: Stack;
let tenant: Awaited<ReturnType<Stack["tenantInProd"]>>;
const agents: TestAgent[] = [];
const workerdOutput: string[] = [];
let cliEnv: Record<string, string>;
const scratch = mkdtempSync(join(tmpdir(), "outpost-secrets-e2e-"));

beforeAll(async () => {
  stack = await startStack({ onOutput: (text) => workerdOutput.push(text) });
  tenant = await stack.tenantInProd("secrets");
  for (const runtime of RUNTIMES)
    agents.push(
      await startAgent(tenant.client, {
        runtime,
        name: `web-${runtime}`,
        cluster: "prod",
        site: "fra1",
        url: stack.url,
      }),
    );
  cliEnv = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: tenant.token, XDG_CONFIG_HOME: join(scratch, "config") };
});
afterAll(async () => {
  for (const agent of agents) {
    await agent.stop();
    // Deployed apps outlive their agent on purpose: take them down by their recorded pids.
    try {
      const state = JSON.parse(
        readFileSync(join(agent.stateDir, `apps/vault-${agent.runtime}/state.json`), "utf8"),
      );
      if (state.live?.pid) process.kill(-state.live.pid, "SIGKILL");
    } catch {}
  }
  await stack?.close();
});

function sealedFor(agent: TestAgent) {
  const db = drizzle(createClient({ url: stack.dbUrl }));
  return sealedEnvFor(db, { tenantId: tenant.id as TenantId, app: "shop", hostId: agent.hostId as HostId });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe("env secrets, CLI to agent", () => {
  it("keeper init keeps the key here (0600) and registers only its public key", async () => {
    const res = await runCli(["keeper", "init", "--name", "laptop", "--json"], cliEnv);
    expect(res.code, res.stderr).toBe(0);
    const { publicKey, path } = JSON.parse(res.stdout) as { publicKey: string; path: string };
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const ls = await runCli(["keeper", "ls", "--json"], cliEnv);
    expect(JSON.parse(ls.stdout)).toEqual({
      items: [expect.objectContaining({ name: "laptop", publicKey, local: true })],
    });
    expect(ls.stdout).not.toContain("keepersecret:");
    expect((await runCli(["keeper", "init", "--name", "laptop"], cliEnv)).code).toBe(1);
  });

  it("env set seals to the named host and the keeper; --from-file reads a .env; bad input is a usage error", async () => {
    const set = await runCli(
      ["env", "set", "shop", `DATABASE_URL=${DATABASE_URL}`, "--host", "web-bun.prod"],
      cliEnv,
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain("shop: DATABASE_URL set (version 1)");
    expect(set.stdout).toContain("sealed to web-bun.prod, keeper laptop");
    const dotenv = join(scratch, ".env");
    writeFileSync(dotenv, `# the API\nexport API_KEY="${API_KEY}"\n`);
    const fromFile = await runCli(
      ["env", "set", "shop", "--from-file", dotenv, "--host", "web-bun.prod", "--host", "web-deno.prod"],
      cliEnv,
    );
    expect(fromFile.code, fromFile.stderr).toBe(0);
    for (const bad of [
      ["env", "set", "shop", "NOEQUALS"],
      ["env", "set", "shop", "1BAD=x"],
      ["env", "set", "shop", "PORT=1"],
      ["env", "set"],
    ]) {
      const res = await runCli(bad, cliEnv);
      expect(res.code, bad.join(" ")).toBe(2);
    }
    expect((await runCli(["env", "--help"], cliEnv)).code).toBe(0);
    const ls = await runCli(["env", "ls", "shop", "--json"], cliEnv);
    const items = (
      JSON.parse(ls.stdout) as {
        items: { name: string; version: number; createdAt: string; recipients: { name: string }[] }[];
      }
    ).items;
    expect(items.map((i) => [i.name, i.version, i.recipients.map((r) => r.name).sort()])).toEqual([
      ["API_KEY", 1, ["laptop", "web-bun", "web-deno"]],
      ["DATABASE_URL", 1, ["laptop", "web-bun"]],
    ]);
    expect(items[0]!.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(ls.stdout).not.toContain(API_KEY);
  });

  it("a host that is not yet a recipient gets { missing } until `env reseal` with the keeper key", async () => {
    const deno = agents.find((a) => a.runtime === "deno")!;
    expect(await sealedFor(deno)).toEqual({ missing: ["DATABASE_URL"] });
    const noKeeper = await runCli(["env", "reseal", "shop", "--host", "web-deno.prod"], {
      ...cliEnv,
      XDG_CONFIG_HOME: join(scratch, "empty"),
    });
    expect(noKeeper.code).toBe(1);
    expect(noKeeper.stderr).toMatch(/no keeper key of this tenant on this machine/);
    const res = await runCli(["env", "reseal", "shop", "--host", "web-deno.prod"], cliEnv);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain("shop: 2 env var(s) sealed to web-deno.prod");
    expect(Array.isArray(await sealedFor(deno))).toBe(true);
  });

  for (const runtime of RUNTIMES) {
    it(`the ${runtime} agent's key opens its entries and the app sees them; moved, tampered or another host's fail`, {
      timeout: 60_000,
    }, async () => {
      const agent = agents.find((a) => a.runtime === runtime)!;
      const entries = await sealedFor(agent);
      if (!Array.isArray(entries)) throw new Error(`missing ${entries.missing}`);
      const file = join(scratch, `${runtime}.cbor`);
      writeFileSync(file, encodeCbor(entries.map(encodeSealedEnvEntry)));
      const args = runtime === "bun" ? [] : ["run", "-A"];
      const { stdout } = await run(
        `${root}node_modules/.bin/${runtime}`,
        [
          ...args,
          "test/agent-harness/secrets-check.ts",
          agent.stateDir,
          file,
          tenant.id,
          "shop",
          "DATABASE_URL",
        ],
        { cwd: root },
      );
      const report = JSON.parse(stdout) as Record<string, unknown>;
      expect(report.runtime).toBe(runtime);
      expect(report.seen).toBe(DATABASE_URL);
      expect(report.names).toEqual(["API_KEY", "DATABASE_URL"]);
      expect(report.otherApp).toEqual({
        threw: expect.stringMatching(/^EnvOpenError: Cannot open env API_KEY \(version 1\) of shop-other/),
      });
      expect(report.tampered).toEqual({
        threw: expect.stringMatching(
          /^EnvOpenError: Cannot open env API_KEY .*ciphertext was moved or altered/,
        ),
      });
      expect(report.otherHost).toEqual({ threw: expect.stringMatching(/not sealed to this host/) });
    });
  }

  for (const runtime of RUNTIMES) {
    it(`after env set and a deploy, the app on the ${runtime} agent sees the secret in its environment`, {
      timeout: 120_000,
    }, async () => {
      const app = `vault-${runtime}`;
      const host = `web-${runtime}.prod`;
      const set = await runCli(["env", "set", app, `SHOP_GREETING=${GREETING}`, "--host", host], cliEnv);
      expect(set.code, set.stderr).toBe(0);
      const deploy = await runCli(["deploy", app, SHOP, "--to", host], cliEnv);
      expect(deploy.code, `${deploy.stdout}\n${deploy.stderr}`).toBe(0);
      const fwd = start(process.execPath, [CLI, "forward", `${host}:${app}`, "--listen", "127.0.0.1:0"], {
        env: { ...process.env, ...cliEnv },
      });
      try {
        const port = await eventually(async () => {
          const m = /127\.0\.0\.1:(\d+)/.exec(fwd.output());
          if (!m || Number(m[1]) === 0) throw new Error(`forward did not start: ${fwd.output()}`);
          return Number(m[1]);
        }, 20_000);
        const body = await eventually(async () => (await fetch(`http://127.0.0.1:${port}/`)).text(), 20_000);
        expect(body).toContain(`says ${GREETING}`);
      } finally {
        await fwd.stop("SIGTERM");
      }
    });
  }

  it("a deploy to a host that is not yet a recipient re-seals with the keeper key here, or is refused saying what to run", {
    timeout: 120_000,
  }, async () => {
    const refused = await runCli(["deploy", "vault-bun", SHOP, "--to", "web-deno.prod"], {
      ...cliEnv,
      XDG_CONFIG_HOME: join(scratch, "empty"),
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "Cannot deploy vault-bun to web-deno.prod: its env is not sealed to it and no keeper key of this tenant is on this machine; run 'outpost env reseal vault-bun --host web-deno.prod'",
    );
    const deploy = await runCli(["deploy", "vault-bun", SHOP, "--to", "web-deno.prod"], cliEnv);
    expect(deploy.code, `${deploy.stdout}\n${deploy.stderr}`).toBe(0);
    expect(deploy.stdout).toContain("vault-bun: env sealed to web-deno.prod with this machine's keeper key");
    const deno = agents.find((a) => a.runtime === "deno")!;
    const db = drizzle(createClient({ url: stack.dbUrl }));
    expect(
      Array.isArray(
        await sealedEnvFor(db, {
          tenantId: tenant.id as TenantId,
          app: "vault-bun",
          hostId: deno.hostId as HostId,
        }),
      ),
    ).toBe(true);
  });

  it("the plaintext is nowhere in libSQL, Durable Object or R2 storage, agent state or workerd's output", () => {
    const files = [...filesUnder(stack.dir), ...agents.flatMap((a) => filesUnder(a.stateDir))];
    expect(files.some((f) => f.endsWith("outpost.db"))).toBe(true);
    expect(files.some((f) => f.includes("durable-objects"))).toBe(true);
    for (const secret of [DATABASE_URL, API_KEY, GREETING]) {
      const needle = Buffer.from(secret);
      for (const file of files) expect(readFileSync(file).includes(needle), file).toBe(false);
      expect(workerdOutput.join("")).not.toContain(secret);
    }
    // The check can fail: the ciphertext of each value is there.
    const db = readFileSync(join(stack.dir, "outpost.db"));
    const wal = files.filter((f) => f.endsWith("outpost.db-wal")).map((f) => readFileSync(f));
    expect([db, ...wal].some((b) => b.includes(Buffer.from("keeperkey:")))).toBe(true);
  });

  it("env rm removes a variable; ls shows the rest as a table", async () => {
    const rm = await runCli(["env", "rm", "shop", "API_KEY"], cliEnv);
    expect(rm.code, rm.stderr).toBe(0);
    expect((await runCli(["env", "rm", "shop", "API_KEY"], cliEnv)).code).toBe(1);
    const ls = await runCli(["env", "ls", "shop"], cliEnv);
    expect(ls.stdout).toMatch(
      /^NAME\s+VERSION\s+SET BY\s+SET AT\s+SEALED TO\nDATABASE_URL\s+1\s+admin\s+\S+Z\s+keeper laptop, web-bun, web-deno\n$/,
    );
  });
});
