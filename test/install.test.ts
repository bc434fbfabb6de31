// `curl -fsSL <cp>/install.sh | sh -s -- --token T --name N`, for real: curl, sh, the served agent,
// enrollment, and the launcher it leaves behind. --prefix keeps it inside a temporary directory.
import { spawn } from "node:child_process";
import { once } from "node:events";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { type AddressInfo, createServer, type Server } from "node:net";
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
async function install(
  args: string[],
  opts: { path?: string; home?: string; cwd?: string } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const script = `curl -fsSL ${stack.url}/install.sh | sh -s -- ${args.map((a) => `'${a}'`).join(" ")}`;
  const child = spawn("sh", ["-c", script], {
    env: { PATH: opts.path ?? PATH, HOME: opts.home ?? mkdtempSync(join(tmpdir(), "outpost-home-")) },
    cwd: opts.cwd ?? tmpdir(),
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
    // The enrollment's own start line names the launcher too, not a command that does not exist.
    expect(first.stdout).toContain(`start it with: ${prefix}/outpost-agent\n`);

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

/** A TCP server that answers every line with "echo: <line>". */
async function echoServer(): Promise<Server> {
  const server = createServer((socket) => {
    socket.on("error", () => {});
    socket.on("data", (d) => socket.write(`echo: ${d}`));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

it.each(["bun", "deno"] as const)(
  "finds %s where its installer put it, writes the run options to agent.toml, and uninstalls",
  async (runtime) => {
    // PATH has neither runtime: it sits in ~/.bun/bin or ~/.deno/bin, as their installers leave it.
    const home = mkdtempSync(join(tmpdir(), "outpost-home-"));
    mkdirSync(join(home, `.${runtime}`, "bin"), { recursive: true });
    symlinkSync(
      realpathSync(join(root, "node_modules/.bin", runtime)),
      join(home, `.${runtime}`, "bin", runtime),
    );
    const bare = "/usr/bin:/bin";
    const echo = await echoServer();
    const port = (echo.address() as AddressInfo).port;
    try {
      const prefix = mkdtempSync(join(tmpdir(), "outpost-prefix-"));
      const { token } = await client.tokens.create({ cluster: "prod", site: "fra1" });
      const name = `conf-${runtime}`;
      const bad = await install(
        ["--token", token, "--name", name, "--prefix", prefix, "--service", "x=1; rm"],
        {
          path: bare,
          home,
        },
      );
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain("the run options were refused");
      expect(existsSync(join(prefix, "state", "agent.toml"))).toBe(false);

      const args = ["--token", token, "--name", name, "--prefix", prefix];
      const r = await install([...args, "--service", `echo=127.0.0.1:${port}`, "--no-exec"], {
        path: bare,
        home,
      });
      expect(r.status, r.stderr + r.stdout).toBe(0);
      const config = join(prefix, "state", "agent.toml");
      expect(readFileSync(config, "utf8")).toContain(`[services]\n'echo' = '127.0.0.1:${port}'\n`);
      expect(statSync(config).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(prefix, "outpost-agent"), "utf8")).toContain(
        join(home, `.${runtime}`, "bin", runtime),
      );

      const agent = start(join(prefix, "outpost-agent"), [], { env: { PATH: bare } });
      running.push(agent);
      await eventually(async () =>
        expect((await client.hosts.get(`${name}.prod`)).host.status).toBe("online"),
      );
      // The file's settings are in force: exec refused, the service reachable by name.
      await expect(client.exec(`${name}.prod`, ["true"])).rejects.toThrow(/--no-exec/);
      const s = client.tcpStream(`${name}.prod`, "echo");
      await s.opened;
      const writer = s.writable.getWriter();
      await writer.write(new TextEncoder().encode("hi\n"));
      const reader = s.readable.getReader();
      const { value } = await reader.read();
      expect(new TextDecoder().decode(value)).toBe("echo: hi\n");
      await writer.close();
      await agent.stop();

      const keep = await install(["--uninstall", "--prefix", prefix], { path: bare, home });
      expect(keep.status, keep.stderr).toBe(0);
      expect(existsSync(join(prefix, "agent.js"))).toBe(false);
      expect(existsSync(join(prefix, "outpost-agent"))).toBe(false);
      expect(existsSync(join(prefix, "state", "host.key"))).toBe(true);
      expect(keep.stdout).toContain("kept the identity");
      const purge = await install(["--uninstall", "--purge", "--prefix", prefix], { path: bare, home });
      expect(purge.status, purge.stderr).toBe(0);
      expect(existsSync(prefix)).toBe(false);
    } finally {
      echo.close();
    }
  },
);

it("finds bun in ./node_modules/.bin, where npm put it, with nothing on PATH", async () => {
  const prefix = mkdtempSync(join(tmpdir(), "outpost-prefix-"));
  const r = await install(["--uninstall", "--purge", "--prefix", prefix, "--runtime", "bun"], {
    path: "/usr/bin:/bin",
    cwd: root,
  });
  expect(r.status, r.stderr).toBe(0); // uninstall needs no runtime
  const { token } = await client.tokens.create({ cluster: "prod", site: "fra1" });
  const found = await install(
    ["--token", token, "--name", "npm-bun", "--prefix", prefix, "--runtime", "bun"],
    {
      path: "/usr/bin:/bin",
      cwd: root,
    },
  );
  expect(found.status, found.stderr).toBe(0);
  expect(readFileSync(join(prefix, "outpost-agent"), "utf8")).toContain(join(root, "node_modules/.bin/bun"));
  const missing = await install(["--token", token, "--name", "x", "--prefix", prefix, "--runtime", "deno"], {
    path: "/usr/bin:/bin",
    cwd: tmpdir(),
  });
  expect(missing.status).toBe(1);
  expect(missing.stderr).toContain("deno was not found (PATH, ./node_modules/.bin, ~/.deno/bin");
});
