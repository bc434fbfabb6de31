// The real agent under Bun and under Deno against the real control plane: enrollment, the signed
// connection, liveness, reconnection, revocation and exec end to end.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Outpost, OutpostApiError } from "../sdk/index.ts";
import { eventually, RUNTIMES, runAgent, startAgent, type TestAgent } from "./harness/agent.ts";
import { CLI_BIN, runCli } from "./harness/cli.ts";
import { start } from "./harness/process.ts";
import { type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let client: Outpost;
let token: string;
const agents: TestAgent[] = [];

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenant("agents");
  client = t.client;
  token = t.token;
  await client.clusters.create("prod");
  await client.sites.create("prod", "fra1");
});
afterAll(async () => {
  for (const a of agents) await a.stop();
  await stack?.close();
});

const cliEnv = () => ({ OUTPOST_URL: stack.url, OUTPOST_TOKEN: token, XDG_CONFIG_HOME: stack.dir });
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe.each(RUNTIMES)("agent on %s", (runtime) => {
  let agent: TestAgent;

  beforeAll(async () => {
    agent = await startAgent(client, {
      runtime,
      name: `web-${runtime}`,
      cluster: "prod",
      site: "fra1",
      url: stack.url,
      labels: "role=web",
    });
    agents.push(agent);
  });

  it("comes online with its facts, version and runtime", async () => {
    const { host } = await client.hosts.get(agent.ref);
    expect(host.status).toBe("online");
    expect(host.labels).toEqual({ role: "web" });
    expect(host.runtime).toMatch(new RegExp(`^${runtime} \\d`));
    expect(host.agentVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(host.facts).toMatchObject({
      os: "linux",
      runtime,
      cpus: expect.any(Number),
      memory: expect.any(Number),
    });
    const cli = await runCli(["hosts", "--cluster", "prod"], cliEnv());
    expect(cli.stdout).toMatch(new RegExp(`${agent.ref}\\s+prod/fra1\\s+online`));
    expect(cli.stdout).toContain(runtime);
  });

  it("runs argv without a shell, with cwd, env, stdin and separate streams", async () => {
    const uname = await client.exec(agent.ref, ["uname", "-s"]);
    expect(uname.code).toBe(0);
    expect(text(uname.stdout).trim()).toBe("Linux");

    const noShell = await client.exec(agent.ref, ["echo", "$HOME", "*"]);
    expect(text(noShell.stdout)).toBe("$HOME *\n");

    const both = await client.exec(agent.ref, ["sh", "-c", "echo out; echo err >&2; exit 7"]);
    expect(both).toMatchObject({ code: 7 });
    expect(text(both.stdout)).toBe("out\n");
    expect(text(both.stderr)).toBe("err\n");

    const where = await client.exec(agent.ref, ["sh", "-c", 'pwd; echo "$GREETING"'], {
      cwd: "/tmp",
      env: { GREETING: "hej" },
    });
    expect(text(where.stdout)).toBe("/tmp\nhej\n");

    const cat = await client.exec(agent.ref, ["cat"], { stdin: "piped through\n" });
    expect(text(cat.stdout)).toBe("piped through\n");

    const missing = await client.exec(agent.ref, ["definitely-not-a-command"]);
    expect(missing.code).toBe(127);
    expect(text(missing.stderr)).toMatch(/definitely-not-a-command/);
  });

  it("kills a process that outlives --timeout", async () => {
    const started = Date.now();
    const res = await client.exec(agent.ref, ["sleep", "30"], { timeout: 500 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(res.code).toBeNull();
    expect(res.signal).toBe("SIGKILL");
  });

  it("streams large output intact with bounded credit", async () => {
    const res = await client.exec(agent.ref, ["sh", "-c", "head -c 20000000 /dev/zero | tr '\\0' 'x'"], {
      credit: 256 * 1024,
    });
    expect(res.code).toBe(0);
    expect(res.stdout.length).toBe(20_000_000);
    expect(res.stdout.every((b) => b === 0x78)).toBe(true);
  });

  it("runs many execs at once", async () => {
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) => client.exec(agent.ref, ["sh", "-c", `sleep 0.2; echo ${i}`])),
    );
    expect(results.map((r) => text(r.stdout).trim())).toEqual(
      Array.from({ length: 16 }, (_, i) => String(i)),
    );
  });

  it("drives exec from the CLI: exit codes, shorthand, stdin, Ctrl-C", async () => {
    const env = cliEnv();
    const res = await runCli(["exec", agent.ref, "--", "sh", "-c", "echo hi; echo oops >&2; exit 3"], env);
    expect(res).toMatchObject({ code: 3, stdout: "hi\n", stderr: "oops\n" });
    const short = await runCli([agent.ref, "uname", "-s"], env);
    expect(short).toMatchObject({ code: 0, stdout: "Linux\n" });
    const piped = await runCli(["exec", agent.ref, "--", "wc", "-c"], env, "12345");
    expect(piped.stdout.trim()).toBe("5");
    const withFlags = await runCli(
      ["exec", agent.ref, "--env", "A=1", "--cwd", "/", "--", "sh", "-c", "echo $A; pwd"],
      env,
    );
    expect(withFlags.stdout).toBe("1\n/\n");

    // Ctrl-C reaches the remote process as SIGINT; the CLI exits 128+2 as a local shell would.
    const sleeper = start(
      process.execPath,
      [CLI_BIN, "exec", agent.ref, "--", "sh", "-c", "echo started; exec sleep 30"],
      {
        env: { ...process.env, ...env },
      },
    );
    await sleeper.waitFor(/started/, 10_000);
    sleeper.child.kill("SIGINT");
    expect(await sleeper.exited).toBe(130);
  });

  it("records sessions with who, what, exit code and bytes", async () => {
    await client.exec(agent.ref, ["sh", "-c", "cat; exit 5"], { stdin: "abc" });
    // The session's end is recorded just after the client hears the exit.
    const s = await eventually(async () => {
      const { sessions } = await client.sessions({ host: agent.ref, limit: 50 });
      const found = sessions.find((x) => x.argv.join(" ") === "sh -c cat; exit 5");
      expect(found?.endedAt).toBeTruthy();
      return found!;
    });
    expect(s).toMatchObject({ exitCode: 5, bytesIn: 3, bytesOut: 3, kind: "exec" });
    expect(s.actor).toMatch(/^key:/);
    const cli = await runCli(["sessions", "--host", agent.ref], cliEnv());
    expect(cli.stdout).toContain("sh -c cat; exit 5");
  });
});

describe("refusals", () => {
  it("refuses exec to viewers, unknown hosts and offline hosts, quickly and clearly", async () => {
    const viewer = await client.keys.create({ role: "viewer" });
    const asViewer = new Outpost({ url: stack.url, token: viewer.token });
    const denied = await asViewer.exec(agents[0]!.ref, ["true"]).catch((e) => e);
    expect(denied).toBeInstanceOf(OutpostApiError);
    expect(denied.status).toBe(403);

    const unknown = await client.exec("nope.prod", ["true"]).catch((e) => e);
    expect(unknown.status).toBe(404);

    const offline = await startAgent(client, {
      runtime: "bun",
      name: "goes-away",
      cluster: "prod",
      site: "fra1",
      url: stack.url,
    });
    await offline.stop();
    await eventually(async () => expect((await client.hosts.get(offline.ref)).host.status).toBe("offline"));
    const started = Date.now();
    const err = await client.exec(offline.ref, ["true"]).catch((e) => e);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(err.status).toBe(409);
    expect(err.message).toMatch(/offline/);
    const cli = await runCli(["exec", offline.ref, "--", "true"], cliEnv());
    // Could not run at all: 255, as ssh exits, never a code the remote program could have given.
    expect(cli.code).toBe(255);
    expect(cli.stderr).toContain("offline");
  });
});

describe("liveness", () => {
  it("marks a silent host offline by alarm, and back online when it resumes", async () => {
    const a = await startAgent(client, {
      runtime: "bun",
      name: "freezes",
      cluster: "prod",
      site: "fra1",
      url: stack.url,
    });
    agents.push(a);
    a.process.child.kill("SIGSTOP");
    try {
      await eventually(
        async () => expect((await client.hosts.get(a.ref)).host.status).toBe("offline"),
        15_000, // HEARTBEAT_MISSES (3) silent heartbeats of 3 s, then the alarm's write
      );
    } finally {
      a.process.child.kill("SIGCONT");
    }
    await eventually(async () => expect((await client.hosts.get(a.ref)).host.status).toBe("online"), 20_000);
    expect(text((await client.exec(a.ref, ["echo", "back"])).stdout)).toBe("back\n");
  });

  it("reconnects after the control plane restarts", async () => {
    const a = agents[0]!;
    await stack.restartControlPlane();
    await eventually(
      async () => {
        const res = await client.exec(a.ref, ["echo", "again"]);
        expect(text(res.stdout)).toBe("again\n");
      },
      40_000,
      250,
    );
    expect(a.process.output()).toMatch(/reconnect/i);
  });

  it("closes a revoked host's connection and refuses it for good", async () => {
    const a = await startAgent(client, {
      runtime: "deno",
      name: "revoked",
      cluster: "prod",
      site: "fra1",
      url: stack.url,
    });
    await client.hosts.revoke(a.ref);
    const code = await Promise.race([
      a.process.exited,
      new Promise((r) => setTimeout(() => r("still running"), 15_000)),
    ]);
    expect(code).toBe(1);
    expect(a.process.output()).toMatch(/revoked/);
    const again = runAgent("deno", ["run", "--state-dir", a.stateDir]);
    expect(await again.exited).toBe(1);
    expect(again.output()).toMatch(/revoked/);
  });
});
