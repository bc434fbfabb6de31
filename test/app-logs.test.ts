// `outpost logs` end to end (issue 13 item 9): the real Worker in workerd, real R2 in Miniflare, a
// real Bun and a real Deno agent, the shop deployed to each, the CLI as a real process. The last lines
// (stdout to stdout, stderr to stderr), following a line the app prints after a request, --json, a
// flood of output under a slow reader (the agent stalls the stream and stays up), a hostile tenant
// (404, nothing of the app's), a viewer (403), an unknown app.
import {
  closeSync,
  cpSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIN_STREAM_CREDIT } from "../schema/protocol/limits.ts";
import type { Outpost } from "../sdk/index.ts";
import { RUNTIMES, startAgent, type TestAgent } from "./harness/agent.ts";
import { runCli } from "./harness/cli.ts";
import { httpGetText } from "./harness/http-server.ts";
import { start } from "./harness/process.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const SHOP = fileURLToPath(new URL("../examples/shop", import.meta.url));
const CLI = fileURLToPath(new URL("../sdk/bin/outpost.js", import.meta.url));
/** What the flood writes (6 MB): far more than the 1 KiB window its reader grants, less than a rotation. */
const FLOOD_LINES = 60_000;

let stack: Stack;
let client: Outpost;
let env: Record<string, string>;
let other: Record<string, string>;
let viewer: Record<string, string>;
const agents: TestAgent[] = [];

/** The shop, plus /err (a line on stderr) and /flood (FLOOD_LINES lines of 100 bytes on stdout). */
function loggingShop(): string {
  const dir = mkdtempSync(join(tmpdir(), "logs-shop-"));
  cpSync(SHOP, dir, { recursive: true });
  const server = readFileSync(join(dir, "server.mjs"), "utf8").replace(
    "  console.log(`$" + "{req.method} $" + "{req.url}`);",
    `  if (req.url === "/err") console.error("oops on stderr");
  if (req.url === "/flood") {
    const line = "x".repeat(99) + "\\n";
    let i = 0;
    const more = () => {
      while (i < ${FLOOD_LINES}) {
        i++;
        if (!process.stdout.write(line)) return process.stdout.once("drain", more);
      }
      console.log("flood done");
    };
    more();
  }
  console.log(\`\${req.method} \${req.url}\`);`,
  );
  expect(server).toContain("/flood");
  writeFileSync(join(dir, "server.mjs"), server);
  return dir;
}

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("logs");
  client = t.client;
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: t.token, OUTPOST_DEPLOY_WAIT_MS: "40000" };
  const dir = loggingShop();
  for (const runtime of RUNTIMES) {
    const agent = await startAgent(t.client, {
      runtime,
      name: `logs-${runtime}`,
      cluster: "prod",
      site: "fra1",
      url: stack.url,
    });
    agents.push(agent);
    const res = await runCli(["deploy", `shop-${runtime}`, dir, "--to", agent.ref], env);
    expect(res.stderr + res.stdout).toMatch(/release \d+ is live/);
  }
  const key = await t.client.keys.create({ name: "watcher", role: "viewer" });
  viewer = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: key.token };
  const o = await stack.tenantInProd("logs-other");
  other = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: o.token };
}, 240_000);

afterAll(async () => {
  for (const a of agents) {
    await a.stop();
    try {
      const state = JSON.parse(readFileSync(join(a.stateDir, `apps/shop-${a.runtime}/state.json`), "utf8"));
      if (state.live?.pid) process.kill(-state.live.pid, "SIGKILL");
    } catch {}
  }
  await stack?.close();
});

/** The last bytes of a file, read without reading it all. */
function lastBytes(path: string, n = 64): string {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(n, size));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    return buf.toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** A request straight to the app's loopback port, as the agent recorded it. */
function hit(agent: TestAgent, path: string): Promise<string> {
  const state = JSON.parse(
    readFileSync(join(agent.stateDir, `apps/shop-${agent.runtime}/state.json`), "utf8"),
  );
  return httpGetText(state.live.port, path);
}

describe.each(RUNTIMES)("logs of the shop on a %s agent", (runtime) => {
  const agent = () => agents.find((a) => a.runtime === runtime)!;
  const app = `shop-${runtime}`;

  it("-n 5 prints the last five lines of stdout, and stderr to stderr", async () => {
    for (let i = 1; i <= 7; i++) await hit(agent(), `/r${i}`);
    await hit(agent(), "/err");
    const res = await runCli(["logs", app, "-n", "5"], env);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain("oops on stderr");
    expect(res.stdout).not.toContain("oops");
    const lines = res.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines.at(-1)).toBe("GET /err");
    expect(lines).toContain("GET /r7");
    expect(lines).not.toContain("GET /r3");
  });

  it("--json gives one shape, and names the host when it was named", async () => {
    const res = await runCli(["logs", app, "-n", "1", "--json", "--host", agent().ref], env);
    expect(res.code).toBe(0);
    const { items } = JSON.parse(res.stdout);
    expect(items).toContainEqual({ host: agent().ref, stream: "stdout", line: "GET /err" });
    expect(items).toContainEqual({ host: agent().ref, stream: "stderr", line: "oops on stderr" });
  });

  it("-f sees a line the app prints after a request", async () => {
    const proc = start(process.execPath, [CLI, "logs", app, "-f", "-n", "1"], {
      env: { ...process.env, ...env },
    });
    try {
      await proc.waitFor(/GET \/err/, 20_000);
      await hit(agent(), "/after-follow");
      await proc.waitFor(/GET \/after-follow/, 10_000);
    } finally {
      expect(await proc.stop("SIGINT")).toBe(0);
    }
  });

  it("a flood of output under a slow reader stalls the stream, and the agent stays up", async () => {
    const stream = client.logs(app, { follow: true, lines: 0, credit: MIN_STREAM_CREDIT });
    await stream.session;
    await hit(agent(), "/flood");
    const log = join(agent().stateDir, `apps/${app}/logs/stdout.log`);
    // Bounded: wait at most 30 s for the line the app writes after its flood.
    const deadline = Date.now() + 30_000;
    while (!lastBytes(log).includes("GET /flood") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(lastBytes(log)).toContain("GET /flood");
    // A slow reader: 20 reads, 50 ms apart. What arrives is what the window let through, not the flood.
    const reader = stream.stdout.getReader();
    let got = 0;
    for (let i = 0; i < 20; i++) {
      const { value, done } = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`read ${i}: nothing in 5 s`)), 5000),
        ),
      ]);
      if (done) break;
      got += value.length;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan((FLOOD_LINES * 100) / 10);
    stream.close();
    // Still up, and still serving logs.
    const res = await runCli(["logs", app, "-n", "1"], env);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe("GET /flood\n"); // the handler logs its access line after the flood
    expect((await runCli(["hosts", "--json"], env)).stdout).toContain(agent().ref.split(".")[0]);
  }, 60_000);
});

describe("refusals", () => {
  it("a hostile tenant gets 404 and none of the app's output", async () => {
    const res = await runCli(["logs", "shop-bun", "-n", "5"], other);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/app 'shop-bun' not found.*404/);
    expect(res.stdout).toBe("");
    const named = await runCli(["logs", "shop-bun", "--host", "logs-bun.prod"], other);
    expect(named.code).toBe(1);
    expect(named.stderr).toMatch(/404/);
  });

  it("an unknown app is a clear error", async () => {
    const res = await runCli(["logs", "nope"], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("app 'nope' not found");
  });

  it("an app on another host than --host names is 404; a viewer may not read logs", async () => {
    const res = await runCli(["logs", "shop-bun", "--host", "logs-deno.prod"], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("app 'shop-bun' on 'logs-deno.prod' not found");
    const v = await runCli(["logs", "shop-bun"], viewer);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/403/);
  });

  it("usage errors exit 2", async () => {
    expect((await runCli(["logs"], env)).code).toBe(2);
    expect((await runCli(["logs", "shop-bun", "-n", "lots"], env)).code).toBe(2);
    const since = await runCli(["logs", "shop-bun", "--since", "yesterday"], env);
    expect(since.code).toBe(1);
    expect(since.stderr).toMatch(/since/);
  });
});
