// The bundled agent's command line under Bun and under Deno: help, version, usage errors (exit 2), and
// enrollment's refusals. Enrollment against the real control plane is in test/enroll.test.ts; here a
// fake enrollment endpoint (node:http) answers what the real one would, so each refusal can be forced.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enrollmentMessage } from "../schema/protocol/enroll.ts";
import {
  formatControlPlaneKey,
  generateKeyPair,
  newHostId,
  parseHostKey,
  Verifier,
} from "../schema/protocol/index.ts";
import { buildTestBundle, ROOT, RUNTIMES, run } from "../test/agent-harness/processes.ts";
import { AGENT_VERSION } from "./version.ts";

let bundle: string;
let fake: Server;
let fakeUrl: string;
/** What the fake enrollment endpoint answers next: [status, body]; null = check and accept. */
let answer: [number, unknown] | null = null;
let lastRequest: Record<string, unknown> | undefined;

beforeAll(async () => {
  bundle = await buildTestBundle();
  const cp = await generateKeyPair();
  fake = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", async () => {
      lastRequest = JSON.parse(body);
      const r = lastRequest as {
        token: string;
        name: string;
        publicKey: string;
        time: number;
        signature: string;
      };
      let [status, json] = answer ?? [201, undefined];
      if (answer === null) {
        const ok = await new Verifier(parseHostKey(r.publicKey)).verify(
          Buffer.from(r.signature, "base64url"),
          enrollmentMessage(r),
        );
        [status, json] = ok
          ? [
              201,
              {
                host: { id: newHostId(), name: r.name, cluster: "prod", site: "fra1" },
                controlPlane: { publicKey: formatControlPlaneKey(cp.publicKey) },
                heartbeatMs: 15000,
              },
            ]
          : [400, { error: { code: "bad_signature", message: "nope" } }];
      }
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
    });
  });
  await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
  fakeUrl = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => (fake ? fake.close(() => resolve()) : resolve())));

/** `command` through sh in `cwd`, as a user pasting it would run it. */
function runShell(
  command: string,
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("sh", ["-c", command], { cwd }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const tempDir = () => mkdtempSync(join(tmpdir(), "outpost-agent-cli-"));

it("keeps AGENT_VERSION equal to package.json's version", () => {
  expect(AGENT_VERSION).toBe(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);
});

describe.each(RUNTIMES)("outpost-agent on %s", (runtime) => {
  const agent = (args: string[], env: Record<string, string> = {}) => run(runtime, bundle, args, env);

  it("prints help and its version", async () => {
    const help = await agent(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: outpost-agent <command>");
    expect(help.stdout).toContain("enroll --url <url> --token <token> --name <name>");
    for (const flag of ["--service name=address:port", "--allow-net CIDR", "--allow-loopback"]) {
      expect(help.stdout).toContain(flag);
    }
    expect((await agent(["help"])).code).toBe(0);
    expect((await agent(["enroll", "--help"])).code).toBe(0);
    const version = await agent(["version"]);
    expect(version).toMatchObject({ code: 0, stderr: "" });
    expect(version.stdout).toMatch(new RegExp(`^outpost-agent ${AGENT_VERSION} \\(${runtime} \\d+\\.\\d+`));
  });

  it.each([
    [[], "no command given"],
    [["frobnicate"], "unknown command 'frobnicate'"],
    [["enroll", "--token", "t", "--name", "web01"], "--url is required"],
    [["enroll", "--url", "http://x", "--name", "web01"], "--token is required"],
    [["enroll", "--url", "http://x", "--token", "t"], "--name is required"],
    [["enroll", "--url", "not a url", "--token", "t", "--name", "web01"], "is not a URL"],
    [
      ["enroll", "--url", "http://x", "--token", "t", "--name", "Web_01"],
      "--name: 'Web_01' must be a DNS label",
    ],
    [
      ["enroll", "--url", "http://x", "--token", "t", "--name", "w", "--labels", "x"],
      "--labels: 'x' must be key=value",
    ],
    [["run", "--bogus"], "run: unknown option --bogus"],
    [["run", "extra"], "run: unexpected argument 'extra'"],
    [["run", "--state-dir"], "--state-dir needs a value"],
    [["run", "--service", "ssh"], "--service: 'ssh' must be name=address:port"],
    [["run", "--service", "ssh=127.0.0.1"], "--service ssh: '127.0.0.1' has no port"],
    [["run", "--allow-net", "10.0.0.1/8"], "--allow-net: '10.0.0.1/8': host bits are set"],
    [["run", "--allow-loopback=yes"], "--allow-loopback takes no value"],
  ])("exits 2 with one line for %j", async (args, words) => {
    const r = await agent(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^outpost-agent: .+; run 'outpost-agent --help' for usage\n$/);
    expect(r.stderr).toContain(words);
  });

  it("reads agent.toml from the state dir, flags over file, and refuses an unknown key naming it", async () => {
    const dir = tempDir();
    const file = join(dir, "agent.toml");
    writeFileSync(
      file,
      [
        "allow-loopback = true",
        'allow-net = ["10.1.0.0/16"]',
        'exec-allow = ["systemctl status"]',
        "[services]",
        'ssh = "127.0.0.1:22"',
        'web = "127.0.0.1:8080"',
        "",
      ].join("\n"),
    );
    const fromFile = await agent(["config", "--state-dir", dir]);
    expect(fromFile.stderr).toBe("");
    expect(fromFile.stdout).toContain("services        ssh=127.0.0.1:22, web=127.0.0.1:8080");
    expect(fromFile.stdout).toContain("allow-net       10.1.0.0/16");
    expect(fromFile.stdout).toContain("allow-loopback  true");
    expect(fromFile.stdout).toContain('exec            allowlist: ["systemctl","status"]');
    // A flag replaces that setting; a service of the same name is the flag's.
    const flags = await agent([
      "config",
      "--state-dir",
      dir,
      "--service",
      "web=127.0.0.1:9090",
      "--allow-net",
      "10.2.0.0/16",
      "--no-exec",
    ]);
    expect(flags.stdout).toContain("services        ssh=127.0.0.1:22, web=127.0.0.1:9090");
    expect(flags.stdout).toContain("allow-net       10.2.0.0/16");
    expect(flags.stdout).toContain("exec            off");

    writeFileSync(file, 'allow-nets = ["10.0.0.0/8"]\n');
    const unknown = await agent(["run", "--state-dir", dir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`${file}: unknown key 'allow-nets'`);
    writeFileSync(file, 'allow-loopback = "yes"\n');
    expect((await agent(["config", "--state-dir", dir])).stderr).toContain(
      'allow-loopback must be true or false, not the string "yes"',
    );
    writeFileSync(file, '[services]\nssh = "169.254.169.254:80x"\n');
    const bad = await agent(["config", "--state-dir", dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${file}: --service ssh:`);
    writeFileSync(file, "[services\n");
    expect((await agent(["config", "--state-dir", dir])).stderr).toContain("is not valid TOML");
    // vm-bridge: the file's, a flag over it, a wrong type refused naming it.
    writeFileSync(file, 'vm-bridge = "br0"\n');
    expect((await agent(["config", "--state-dir", dir])).stdout).toContain("vm-bridge       br0");
    expect((await agent(["config", "--state-dir", dir, "--vm-bridge", "br1"])).stdout).toContain(
      "vm-bridge       br1",
    );
    writeFileSync(file, "vm-bridge = 3\n");
    expect((await agent(["config", "--state-dir", dir])).stderr).toContain(
      `${file}: vm-bridge must be a bridge's name, not 3`,
    );
  });

  it("refuses to run before enrollment, and says how to enroll", async () => {
    const dir = tempDir();
    const r = await agent(["run", "--state-dir", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `outpost-agent: this host is not enrolled (no state.json in ${dir}); run 'outpost-agent enroll --url <control plane> --token <token> --name <name>' first\n`,
    );
    const viaEnv = await agent(["run"], { OUTPOST_STATE_DIR: dir });
    expect(viaEnv.stderr).toContain(`no state.json in ${dir}`);
  });

  it("enrolls: a 0600 key, the pinned control plane key, and a signed request", async () => {
    const dir = join(tempDir(), "state");
    answer = null;
    const r = await agent([
      "enroll",
      "--url",
      `${fakeUrl}/`,
      "--token",
      "oet_test",
      "--name",
      "web01",
      "--labels",
      "role=web",
      "--state-dir",
      dir,
    ]);
    const firstRequest = lastRequest;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^enrolled web01\.prod \(host_[\w-]{22}, site fra1\) with http:\/\/127\.0\.0\.1:\d+;/,
    );
    // The start command it prints is the one that works for how it ran: this runtime and this file,
    // by absolute path (no `outpost-agent` on PATH), so it runs from any directory.
    const start = /start it with: (.+)\n$/.exec(r.stdout)?.[1] ?? "";
    expect(start).toMatch(runtime === "bun" ? / run --state-dir / : / run -A .+ run --state-dir /);
    expect(start).toContain(bundle);
    expect(start).not.toMatch(/^outpost-agent /);
    const help = await runShell(`${start} --help`, "/");
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain("usage: outpost-agent <command>");
    // Under install.sh's launcher it names the launcher instead.
    const viaLauncher = await agent(
      ["enroll", "--url", fakeUrl, "--token", "t", "--name", "web01", "--state-dir", join(tempDir(), "s")],
      { OUTPOST_AGENT_LAUNCHER: "/opt/outpost/outpost-agent" },
    );
    expect(viaLauncher.stdout).toMatch(/start it with: \/opt\/outpost\/outpost-agent\n$/);
    expect(lastRequest).toMatchObject({ token: "t", name: "web01" });
    answer = null;
    expect(firstRequest).toMatchObject({ token: "oet_test", name: "web01", labels: { role: "web" } });
    expect(readdirSync(dir).sort()).toEqual(["host.key", "state.json"]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "host.key")).mode & 0o777).toBe(0o600);
    const key = readFileSync(join(dir, "host.key"), "utf8");
    expect(key).toMatch(/^privkey:[\w-]{43}\n$/);
    expect(JSON.stringify(lastRequest)).not.toContain(key.trim().slice("privkey:".length));
    const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
    expect(state).toMatchObject({ name: "web01", cluster: "prod", site: "fra1", url: fakeUrl });
    expect(state.controlPlaneKey).toMatch(/^cpkey:/);
    expect(Object.keys(state).sort()).toEqual(
      ["controlPlaneKey", "cluster", "enrolledAt", "hostId", "name", "site", "url"].sort(),
    );

    // Enrolled already: refused without --force, before asking the control plane anything.
    lastRequest = undefined;
    const again = await agent([
      "enroll",
      "--url",
      fakeUrl,
      "--token",
      "t",
      "--name",
      "web02",
      "--state-dir",
      dir,
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${dir} already holds the enrollment of web01.prod`);
    expect(again.stderr).toContain("pass --add");
    expect(again.stderr).toContain("--force");
    expect(lastRequest).toBeUndefined();
    const forced = await agent([
      "enroll",
      "--url",
      fakeUrl,
      "--token",
      "t",
      "--name",
      "web02",
      "--state-dir",
      dir,
      "--force",
    ]);
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).name).toBe("web02");
    expect(readFileSync(join(dir, "host.key"), "utf8")).not.toBe(key);
  });

  it.each([
    [401, "token_expired", "the enrollment token has expired; ask for a new one with 'outpost token create'"],
    [401, "token_used", "was already used"],
    [401, "token_revoked", "was revoked"],
    [401, "token_invalid", "unknown or malformed"],
    [409, "name_taken", "a host named 'web01' already exists in this cluster; choose another --name"],
    [400, "clock_skew", "clock is more than 5 minutes off"],
    [500, "internal", "failed to enroll this host (internal: boom); try again in a moment"],
    [404, "not_found", "has no enrollment endpoint"],
  ])("turns HTTP %i %s into one line and writes nothing", async (status, code, words) => {
    const dir = tempDir();
    answer = [status, { error: { code, message: "boom" } }];
    const r = await agent([
      "enroll",
      "--url",
      fakeUrl,
      "--token",
      "oet_x",
      "--name",
      "web01",
      "--state-dir",
      dir,
    ]);
    answer = null;
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(words);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("says when the control plane cannot be reached, and writes nothing", async () => {
    const dir = join(tempDir(), "state");
    const r = await agent([
      "enroll",
      "--url",
      "http://127.0.0.1:9",
      "--token",
      "t",
      "--name",
      "web01",
      "--state-dir",
      dir,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^outpost-agent: cannot reach the control plane at http:\/\/127\.0\.0\.1:9 \(.*\); check --url and this host's network\n$/,
    );
    expect(existsSync(dir)).toBe(false);
  });

  it("refuses a damaged state file with a way out", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "state.json"), "{ not json");
    const r = await agent(["run", "--state-dir", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("state.json is damaged");
  });
});
