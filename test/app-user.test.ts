// outpost.toml `user` (issue 13 item 3; agent/apps/run-as.ts): a real agent running as root, under
// Bun and Deno, runs the release hook, the app and its cmd health check as a throwaway system user
// made here (useradd -r, removed after); the app cannot write its release directory; an unknown
// user is refused before anything starts and the old release keeps serving; the next agent
// re-adopts the app without restarting it.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, RUNTIMES, startAgent, type TestAgent } from "./harness/agent.ts";
import { killAppProcesses } from "./harness/app-processes.ts";
import { runCli } from "./harness/cli.ts";
import { httpGetText } from "./harness/http-server.ts";
import { type Running, start } from "./harness/process.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const CLI = fileURLToPath(new URL("../sdk/bin/outpost.js", import.meta.url));
const USER = `outpost-t${process.pid % 100000}`;
const isRoot = process.getuid?.() === 0;

let stack: Stack;
let env: Record<string, string>;
let uid: number;
/** Where the hook and the health check write what `id -u` said (writable by the test user). */
let out: string;
const agents: TestAgent[] = [];

// The app: serves its uid, its groups and whether it could write its release directory.
const SERVER = `import { createServer } from "node:http";
import { writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
let writable;
try { writeFileSync("./probe", "x"); writable = "yes"; } catch (e) { writable = "no " + e.code; }
const id = execFileSync("id", ["-u"]).toString().trim();
createServer((req, res) => {
  res.end(JSON.stringify({ uid: id, writable, release: process.env.OUTPOST_RELEASE, home: process.env.HOME }));
}).listen(Number(process.env.PORT), "127.0.0.1", () => console.log("user app listening as " + id));
`;

function app(name: string, user: string, release: string): string {
  const dir = mkdtempSync(join(tmpdir(), "app-user-"));
  writeFileSync(join(dir, "server.mjs"), SERVER);
  writeFileSync(
    join(dir, "outpost.toml"),
    `name = "${name}"
cmd = ["\${OUTPOST_RUNTIME}", "server.mjs"]
release = ["sh", "-c", "id -u > \\"$OUT/hook-$R\\""]
user = "${user}"
env = { OUT = "${out}", R = "${release}" }

[health]
cmd = ["sh", "-c", "id -u > \\"$OUT/health-$R\\""]
interval = "200ms"
timeout = "2s"
grace = "20s"
`,
  );
  return dir;
}

const get = (port: number) => httpGetText(port);

async function forward(host: string, name: string): Promise<{ proc: Running; port: number }> {
  const proc = start(process.execPath, [CLI, "forward", `${host}:${name}`, "--listen", "127.0.0.1:0"], {
    env: { ...process.env, ...env },
  });
  const port = await eventually(async () => {
    const m = /127\.0\.0\.1:(\d+)/.exec(proc.output());
    if (!m || Number(m[1]) === 0) throw new Error(`forward did not start: ${proc.output()}`);
    return Number(m[1]);
  }, 20_000);
  return { proc, port };
}

async function served(host: string, name: string): Promise<Record<string, string>> {
  const fwd = await forward(host, name);
  try {
    return JSON.parse(await get(fwd.port));
  } finally {
    await fwd.proc.stop();
  }
}

beforeAll(async () => {
  if (!isRoot) return;
  execFileSync("useradd", ["-r", "-M", "-s", "/usr/sbin/nologin", USER]);
  uid = Number(execFileSync("id", ["-u", USER]).toString().trim());
  // Under /tmp itself: the test run's own temporary directory is closed to other users.
  out = mkdtempSync("/tmp/app-user-out-");
  chmodSync(out, 0o777);
  stack = await startStack();
  const t = await stack.tenantInProd("app-user");
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: t.token, OUTPOST_DEPLOY_WAIT_MS: "40000" };
  for (const runtime of RUNTIMES)
    agents.push(
      await startAgent(t.client, {
        runtime,
        name: `user-${runtime}`,
        cluster: "prod",
        site: "fra1",
        url: stack.url,
      }),
    );
  // The agents' state directories sit in the test run's temporary directory (mode 0700); the agent
  // changes nothing above its own state directory (run-as.ts), so let the user search it here.
  for (const a of agents) chmodSync(dirname(a.stateDir), 0o711);
}, 180_000);

afterAll(async () => {
  for (const a of agents) {
    await a.stop();
    killAppProcesses(a.stateDir, `who-${a.runtime}`);
  }
  await stack?.close();
  if (isRoot) {
    // The apps ran as this user: wait for them to be gone, then remove it.
    await eventually(async () => execFileSync("userdel", [USER]), 10_000, 200).catch(() => {});
    if (out) rmSync(out, { recursive: true, force: true });
  }
});

describe.skipIf(!isRoot).each(RUNTIMES)("user = … on a %s agent running as root", (runtime) => {
  const host = () => `user-${runtime}.prod`;
  const name = `who-${runtime}`;

  it("runs the hook, the app and its cmd check as that user, its release dir read-only to it", async () => {
    const res = await runCli(["deploy", name, app(name, USER, `${runtime}1`), "--to", host()], env);
    expect(res.stderr + res.stdout).toMatch(/release \d+ is live/);
    expect(res.code, res.stderr).toBe(0);
    const body = await served(host(), name);
    expect(body.uid).toBe(String(uid));
    expect(body.writable).toMatch(/^no EACCES/);
    expect(body.home).not.toBe(process.env.HOME);
    expect(readFileSync(join(out, `hook-${runtime}1`), "utf8").trim()).toBe(String(uid));
    expect(readFileSync(join(out, `health-${runtime}1`), "utf8").trim()).toBe(String(uid));
    // Its output still lands in the agent's log files (opened by the agent before the switch of user).
    const agent = agents.find((a) => a.runtime === runtime)!;
    const log = readFileSync(join(agent.stateDir, `apps/${name}/logs/stdout.log`), "utf8");
    expect(log).toContain(`user app listening as ${uid}`);
  }, 120_000);

  it("refuses an unknown user before anything starts, and the old release keeps serving", async () => {
    const before = await served(host(), name);
    const res = await runCli(
      ["deploy", name, app(name, "outpost-nobody-here", `${runtime}2`), "--to", host()],
      env,
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/user outpost-nobody-here .*does not exist on this host/);
    expect(() => readFileSync(join(out, `hook-${runtime}2`))).toThrow();
    const after = await served(host(), name);
    expect(after).toEqual(before);
  }, 120_000);

  it("is re-adopted by the next agent without a restart, still as that user", async () => {
    const agent = agents.find((a) => a.runtime === runtime)!;
    const state = () =>
      JSON.parse(readFileSync(join(agent.stateDir, `apps/${name}/state.json`), "utf8")).live.pid as number;
    const pid = state();
    await agent.restart();
    const body = await eventually(() => served(host(), name), 30_000, 500);
    expect(body.uid).toBe(String(uid));
    expect(state()).toBe(pid);
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    expect(status).toMatch(new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, "m"));
  }, 120_000);
});
