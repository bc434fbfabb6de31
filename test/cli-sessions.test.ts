// `outpost sessions` and `mesh ls` speak names (issue 12, item 4), and the argv rule of exec (item 7),
// with real agents under Bun and Deno, a real HTTP server on loopback and the CLI as a process.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Outpost } from "../sdk/outpost.ts";
import { eventually, startAgent, type TestAgent } from "./harness/agent.ts";
import { runCli } from "./harness/cli.ts";
import { startHttpServer, type TestHttpServer } from "./harness/http-server.ts";
import { freePort } from "./harness/process.ts";
import { type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let client: Outpost;
let env: Record<string, string>;
let otherEnv: Record<string, string>;
let web: TestAgent;
let db: TestAgent;
let api: TestHttpServer;

const curl = (url: string) =>
  new Promise<string>((resolve, reject) =>
    execFile("curl", ["-fsS", "--max-time", "5", url], { encoding: "utf8" }, (err, out) =>
      err ? reject(err) : resolve(out),
    ),
  );

beforeAll(async () => {
  stack = await startStack();
  const acme = await stack.tenantInProd("acme");
  client = acme.client;
  const other = await stack.tenantInProd("other");
  const config = mkdtempSync(join(tmpdir(), "outpost-cfg-"));
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: acme.token, XDG_CONFIG_HOME: config };
  otherEnv = { ...env, OUTPOST_TOKEN: other.token };
  api = await startHttpServer("api");
  const common = { cluster: "prod", site: "fra1", url: stack.url };
  [web, db] = await Promise.all([
    startAgent(client, { ...common, runtime: "bun", name: "web01", runArgs: ["--allow-loopback"] }),
    startAgent(client, {
      ...common,
      runtime: "deno",
      name: "db01",
      runArgs: ["--service", `api=127.0.0.1:${api.port}`],
    }),
  ]);
}, 180_000);
afterAll(async () => {
  await Promise.all([web?.stop(), db?.stop()]);
  await api?.close();
  await stack?.close();
});

describe("exec argv", () => {
  it("passes everything after the host to the remote program, --help included, and its exit code back", async () => {
    const res = await runCli(
      ["web01.prod", "sh", "-c", 'printf "%s|" "$@"; exit 7', "sh", "-la", "--help"],
      env,
    );
    expect(res).toMatchObject({ code: 7, stdout: "-la|--help|" });
    const withOptions = await runCli(["exec", "--env", "A=1", "db01.prod", "sh", "-c", "echo $A"], env);
    expect(withOptions).toMatchObject({ code: 0, stdout: "1\n" });
  });
});

describe("sessions and mesh ls", () => {
  it("name hosts and keys, show the kind, and filter by host, kind, time and cursor", async () => {
    expect((await runCli(["exec", "db01.prod", "--", "true"], env)).code).toBe(0);
    const proxied = await runCli(["proxy", "web01.prod", String(api.port)], env, "GET /p HTTP/1.0\r\n\r\n");
    expect(proxied.stdout).toContain("api /p");

    const port = await freePort();
    const added = await runCli(
      ["mesh", "add", "web01.prod", "--listen", `127.0.0.1:${port}`, "--to", "db01.prod:api"],
      env,
    );
    expect(added.code, added.stderr).toBe(0);
    expect(await eventually(() => curl(`http://127.0.0.1:${port}/m`))).toBe("api /m");
    const mesh = (await runCli(["mesh", "ls"], env)).stdout;
    expect(mesh).toMatch(/mesh_\S+\s+web01\.prod\s+127\.0\.0\.1:\d+\s+db01\.prod\s+api/);
    expect(mesh).not.toContain("host_");

    const kinds = await eventually(async () => {
      const { sessions } = await client.sessions({ limit: 50 });
      const found = new Set(sessions.map((s) => s.kind));
      if (!found.has("mesh") || !found.has("tcp") || !found.has("exec")) throw new Error([...found].join());
      return sessions;
    });
    const meshSession = kinds.find((s) => s.kind === "mesh")!;
    expect(meshSession).toMatchObject({ host: "db01.prod", by: { kind: "host", name: "web01.prod" } });
    expect(kinds.find((s) => s.kind === "exec")!.by).toMatchObject({ kind: "key", name: "admin" });

    const table = (await runCli(["sessions"], env)).stdout;
    expect(table).toMatch(/^STARTED\s+ACTOR\s+HOST\s+KIND\s+COMMAND/);
    expect(table).toMatch(/admin\s+db01\.prod\s+exec\s+true\s+0/);
    expect(table).toMatch(/admin\s+web01\.prod\s+tcp\s+\d+/);
    expect(table).toMatch(/web01\.prod\s+db01\.prod\s+mesh\s+api/);
    expect(table).not.toMatch(/key:key_|host_/);
    expect((await runCli(["sessions", "--wide"], env)).stdout).toMatch(/key_\S+\s+host_/);

    const only = async (args: string[]) =>
      JSON.parse((await runCli(["sessions", ...args, "--json"], env)).stdout).items as Array<{
        kind: string;
        host: string;
        id: string;
      }>;
    expect(new Set((await only(["--kind", "mesh"])).map((s) => s.kind))).toEqual(new Set(["mesh"]));
    expect(new Set((await only(["--host", "db01.prod"])).map((s) => s.host))).toEqual(new Set(["db01.prod"]));
    expect((await only(["--since", "1h"])).length).toBe(kinds.length);
    expect(await only(["--since", new Date(Date.now() + 60_000).toISOString()])).toEqual([]);

    const first = JSON.parse((await runCli(["sessions", "--limit", "1", "--json"], env)).stdout);
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).toEqual(expect.any(String));
    expect((await runCli(["sessions", "--limit", "1"], env)).stdout).toContain(
      `more: outpost sessions --cursor ${first.nextCursor}`,
    );
    const second = await only(["--limit", "1", "--cursor", first.nextCursor]);
    expect(second).toHaveLength(1);
    expect(second[0]!.id).not.toBe(first.items[0].id);
  });

  it("shows another tenant nothing: its hosts are not found and its listings empty", async () => {
    const hostile = await runCli(["sessions", "--host", "web01.prod"], otherEnv);
    expect(hostile.code).toBe(1);
    expect(hostile.stderr).toContain("404");
    expect(JSON.parse((await runCli(["sessions", "--json"], otherEnv)).stdout)).toEqual({ items: [] });
    expect(JSON.parse((await runCli(["mesh", "ls", "--json"], otherEnv)).stdout)).toEqual({ items: [] });
    const bad = await runCli(["sessions", "--cursor", "1~ses_forged"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("cursor: must be a nextCursor this listing returned");
  });
});
