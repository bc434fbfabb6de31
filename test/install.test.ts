// `curl -fsSL <cp>/install.sh | sh -s -- --token T --name N`, for real: curl, sh, the served agent,
// enrollment, and the launcher it leaves behind. --prefix keeps it inside a temporary directory.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Outpost } from "../sdk/index.ts";
import { AGENT_JS, eventually } from "./harness/agent.ts";
import { type Running, start } from "./harness/process.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
let stack: Stack;
let client: Outpost;
const running: Running[] = [];

beforeAll(async () => {
  stack = await startStack();
  client = (await stack.tenant("install")).client;
  await client.clusters.create("prod");
  await client.sites.create("prod", "fra1");
});
afterAll(async () => {
  for (const r of running) await r.stop();
  await stack?.close();
});

/** PATH with the runtimes from node_modules, as a host that installed bun or deno would have. */
const PATH = `${join(root, "node_modules/.bin")}:${dirname(process.execPath)}:/usr/bin:/bin`;

/** Runs the installer the way its users do. Async: this process also serves the test's database. */
async function install(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const script = `curl -fsSL ${stack.url}/install.sh | sh -s -- ${args.map((a) => `'${a}'`).join(" ")}`;
  const child = spawn("sh", ["-c", script], {
    env: { PATH, HOME: mkdtempSync(join(tmpdir(), "outpost-home-")) },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const [status] = (await once(child, "close")) as [number | null];
  return { status, stdout, stderr };
}

it("serves the same agent bundle that the build produced", async () => {
  const res = await fetch(`${stack.url}/agent.js`);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe(readFileSync(AGENT_JS, "utf8"));
});

it.each(["bun", "deno"] as const)(
  "installs, enrolls and starts an agent with %s; re-running is safe",
  async (runtime) => {
    const prefix = mkdtempSync(join(tmpdir(), "outpost-prefix-"));
    const { token } = await client.tokens.create({ cluster: "prod", site: "fra1" });
    const name = `inst-${runtime}`;
    const first = await install(["--token", token, "--name", name, "--prefix", prefix, "--runtime", runtime]);
    expect(first.status, first.stderr + first.stdout).toBe(0);
    expect(first.stdout).toContain(`start the agent with:\n  ${prefix}/outpost-agent`);

    const agent = start(join(prefix, "outpost-agent"), [], { env: { PATH } });
    running.push(agent);
    await eventually(async () => expect((await client.hosts.get(`${name}.prod`)).host.status).toBe("online"));
    const res = await client.exec(`${name}.prod`, ["echo", "installed"]);
    expect(new TextDecoder().decode(res.stdout)).toBe("installed\n");

    // Again, with the token already used: keeps the enrollment, refreshes the agent.
    const again = await install(["--token", token, "--name", name, "--prefix", prefix, "--runtime", runtime]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain("already enrolled");
    expect((await client.hosts.list({ cluster: "prod" })).hosts.filter((h) => h.name === name)).toHaveLength(
      1,
    );
  },
);

it("fails clearly without a token or with a bad one", async () => {
  const prefix = mkdtempSync(join(tmpdir(), "outpost-prefix-"));
  const none = await install(["--name", "x", "--prefix", prefix]);
  expect(none.status).toBe(1);
  expect(none.stderr).toContain("missing --token");
  const bad = await install(["--token", "oet_bogus", "--name", "x", "--prefix", prefix]);
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain("enrollment failed");
});
