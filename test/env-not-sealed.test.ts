// A deploy made without a keeper key (the SDK, an API call) that meets a host which is not yet a
// recipient of the app's sealed env: the control plane cannot seal it (it has no key that opens the
// values), so the host must fail, saying what to run, and never start the app without its env.
// Real Worker, ClusterDO, R2 and agents under Bun and Deno; the SDK deploys; the CLI sets the env,
// with a keeper key it keeps in its own config dir, and re-seals as the message says.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Outpost, OutpostApiError, uploadArtifact } from "../sdk/index.ts";
import { eventually, RUNTIMES, startAgent, type TestAgent } from "./harness/agent.ts";
import { killAppProcesses } from "./harness/app-processes.ts";
import { runCli } from "./harness/cli.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const SHOP = fileURLToPath(new URL("../examples/shop", import.meta.url));
const APP = "sealed";

let stack: Stack;
let client: Outpost;
let otherClient: Outpost;
let env: Record<string, string>;
const agents: TestAgent[] = [];
let artifact: { spec: string; sha256: string; size: number };

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("sealing");
  client = t.client;
  otherClient = (await stack.tenantInProd("sealing-other")).client;
  env = {
    OUTPOST_URL: stack.url,
    OUTPOST_TOKEN: t.token,
    XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), "outpost-keeper-")),
  };
  // es-bun sorts first: it is the first batch of the rollout.
  for (const runtime of RUNTIMES)
    agents.push(
      await startAgent(client, {
        runtime,
        name: `es-${runtime}`,
        cluster: "prod",
        site: "fra1",
        url: stack.url,
      }),
    );
  const keeper = await runCli(["keeper", "init", "--name", "laptop"], env);
  expect(keeper.code, keeper.stderr).toBe(0);
  const set = await runCli(["env", "set", APP, "SHOP_GREETING=sealed-hello", "--host", "es-bun.prod"], env);
  expect(set.code, set.stderr).toBe(0);
  const up = await uploadArtifact(client, SHOP);
  artifact = { spec: readFileSync(join(SHOP, "outpost.toml"), "utf8"), sha256: up.sha256, size: up.size };
}, 180_000);

afterAll(async () => {
  for (const a of agents) {
    await a.stop();
    killAppProcesses(a.stateDir, APP);
  }
  await stack?.close();
});

async function settled(id: string) {
  return eventually(
    async () => {
      const { deployment } = await client.deploys.get(id);
      if (deployment.status === "running")
        throw new Error(`still running: ${JSON.stringify(deployment.hosts)}`);
      return deployment;
    },
    120_000,
    250,
  );
}

describe("a deploy without a keeper key to a host its env is not sealed to", () => {
  it("refuses a single-host deploy before anything is written, saying what to run", async () => {
    const before = (await client.apps.releases(APP).catch(() => ({ items: [] }))).items.length;
    const err = await client.apps.deploy(APP, { ...artifact, to: "es-deno.prod" }).catch((e) => e);
    expect(err).toBeInstanceOf(OutpostApiError);
    expect(err.status).toBe(409);
    expect(err.code).toBe("env_not_sealed");
    expect(err.message).toMatch(/not sealed to es-deno\.prod \(SHOP_GREETING\)/);
    expect(err.message).toContain(`outpost env reseal ${APP} --host es-deno.prod`);
    expect((await client.apps.releases(APP).catch(() => ({ items: [] }))).items.length).toBe(before);
  });

  it("fails that host of a rollout, never starting the app there, and reverts the hosts already updated", async () => {
    const { deployment } = await client.apps.deploy(APP, { ...artifact, cluster: "prod" });
    const done = await settled(deployment.id);
    expect(done.status).toBe("failed");
    expect(done.message).toMatch(
      /could not start on es-deno\.prod: the env of sealed is not sealed to es-deno\.prod/,
    );
    const byHost = Object.fromEntries(done.hosts.map((h) => [h.host, h]));
    expect(byHost["es-deno.prod"]).toMatchObject({ status: "failed" });
    expect(byHost["es-deno.prod"]!.message).toContain(`outpost env reseal ${APP} --host es-deno.prod`);
    expect(byHost["es-bun.prod"]).toMatchObject({ status: "reverted" });
    // The app never reached the Deno host: no workload for it there, nothing on its disk.
    const apps = JSON.parse((await runCli(["apps", "--json"], env)).stdout) as { items: { host: string }[] };
    expect(apps.items.some((a) => a.host === "es-deno.prod")).toBe(false);
    expect(existsSync(join(agents[1]!.stateDir, "apps", APP))).toBe(false);
  }, 180_000);

  it("rolls out to both once the env is re-sealed as the message says", async () => {
    const reseal = await runCli(["env", "reseal", APP, "--host", "es-deno.prod"], env);
    expect(reseal.code, reseal.stderr).toBe(0);
    const { deployment } = await client.apps.deploy(APP, { ...artifact, cluster: "prod" });
    const done = await settled(deployment.id);
    expect(done.hosts.map((h) => h.status)).toEqual(["succeeded", "succeeded"]);
    expect(done.status).toBe("succeeded");
  }, 180_000);

  it("answers another tenant's deploy to these hosts as if they did not exist", async () => {
    const up = await uploadArtifact(otherClient, SHOP);
    const err = await otherClient.apps
      .deploy(APP, { spec: artifact.spec, sha256: up.sha256, size: up.size, to: "es-deno.prod" })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OutpostApiError);
    expect(err.status).toBe(404);
  });
});
