// The host owner's say over exec, end to end: real agents under Bun and Deno started with --no-exec or
// --exec-allow, a real control plane, the SDK and the CLI. The agent refuses what its owner did not
// allow (the stream closes with "exec refused: …", the session is recorded as failed with that reason), and reports its policy in
// host facts, which `outpost hosts` and GET /v1/hosts/:host show.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Outpost, OutpostStreamError } from "../sdk/index.ts";
import { eventually, RUNTIMES, startAgent, type TestAgent } from "./harness/agent.ts";
import { runCli } from "./harness/cli.ts";
import { type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let client: Outpost;
let token: string;
const agents: TestAgent[] = [];

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("policy");
  client = t.client;
  token = t.token;
});
afterAll(async () => {
  for (const a of agents) await a.stop();
  await stack?.close();
});

const cliEnv = () => ({ OUTPOST_URL: stack.url, OUTPOST_TOKEN: token, XDG_CONFIG_HOME: stack.dir });
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** The refusal of `argv` on `ref`: the stream error the client gets. */
async function refusal(
  ref: string,
  argv: string[],
  env?: Record<string, string>,
): Promise<OutpostStreamError> {
  const error = await client.exec(ref, argv, env ? { env } : {}).then(
    (r) =>
      new Error(`expected ${JSON.stringify(argv)} to be refused, it exited ${r.code}: ${text(r.stderr)}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OutpostStreamError);
  expect((error as OutpostStreamError).code).toBe("stream_closed");
  expect((error as OutpostStreamError).message).toMatch(/^exec refused: /);
  return error as OutpostStreamError;
}

describe.each(RUNTIMES)("exec policy on %s", (runtime) => {
  let off: TestAgent;
  let listed: TestAgent;

  beforeAll(async () => {
    const where = { runtime, cluster: "prod", site: "fra1", url: stack.url };
    [off, listed] = await Promise.all([
      startAgent(client, { ...where, name: `off-${runtime}`, runArgs: ["--no-exec"] }),
      startAgent(client, {
        ...where,
        name: `listed-${runtime}`,
        runArgs: [
          "--exec-allow",
          "printf %s",
          "--exec-allow=/bin/echo",
          "--exec-allow",
          '["sh","-c","echo two words"]',
        ],
      }),
    ]);
    agents.push(off, listed);
  });

  it("reports the policy in host facts and in outpost hosts", async () => {
    expect((await client.hosts.get(off.ref)).host.facts).toMatchObject({ exec: { mode: "off" } });
    expect((await client.hosts.get(listed.ref)).host.facts).toMatchObject({
      exec: {
        mode: "allowlist",
        allow: [["printf", "%s"], ["/bin/echo"], ["sh", "-c", "echo two words"]],
      },
    });
    const cli = await runCli(["hosts", "--cluster", "prod", "--wide"], cliEnv());
    expect(cli.stdout).toMatch(/\sEXEC\s/);
    expect(cli.stdout).toMatch(new RegExp(`^${off.ref}\\s.*\\soff\\s+host_`, "m"));
    expect(cli.stdout).toMatch(new RegExp(`^${listed.ref}\\s.*\\sallowlist\\(3\\)\\s+host_`, "m"));
  });

  it("refuses every exec with --no-exec, records the session as failed, and the CLI says why", async () => {
    const error = await refusal(off.ref, ["uname", "-s"]);
    expect(error.message).toBe("exec refused: this host's agent runs with --no-exec; ask its owner");
    const session = await eventually(async () => {
      const { sessions } = await client.sessions({ host: off.ref, limit: 10 });
      const found = sessions.find((s) => s.argv.join(" ") === "uname -s");
      expect(found?.endedAt).toBeTruthy();
      return found!;
    });
    expect(session).toMatchObject({ exitCode: null, endReason: error.message });
    const cli = await runCli(["exec", off.ref, "--", "id"], cliEnv());
    expect(cli).toMatchObject({ code: 255, stdout: "" });
    expect(cli.stderr).toBe(
      "outpost: exec refused: this host's agent runs with --no-exec; ask its owner (stream_closed)\n",
    );
  });

  it("runs argv that starts with a listed prefix, more arguments after it", async () => {
    const printf = await client.exec(listed.ref, ["printf", "%s", "hello", "world"]);
    expect([printf.code, text(printf.stdout)]).toEqual([0, "helloworld"]);
    const echo = await client.exec(listed.ref, ["/bin/echo", "-n", "hi"]);
    expect([echo.code, text(echo.stdout)]).toEqual([0, "hi"]);
    const sh = await client.exec(listed.ref, ["sh", "-c", "echo two words"]);
    expect([sh.code, text(sh.stdout)]).toEqual([0, "two words\n"]);
  });

  it("refuses the rest: whole items only, the program exactly as listed, no env", async () => {
    for (const argv of [
      ["uname"],
      ["printf"], // shorter than the prefix
      ["printf", "%s%s"], // an item that merely starts with the listed one
      ["printfx", "%s"], // a longer program name
      ["/usr/bin/printf", "%s"], // the same program by another path
      ["echo", "hi"], // listed only as /bin/echo
      ["/bin/echo2"],
      ["../bin/echo"],
      ["sh", "-c", "echo two words; id"], // one item is compared whole
      ["sh", "-c"],
      ["curl", "http://10.0.0.1/"],
    ]) {
      const error = await refusal(listed.ref, argv);
      expect(error.message).toContain(
        "is not in this host's exec allowlist (--exec-allow); allowed: 'printf' '%s', '/bin/echo', 'sh' '-c' 'echo two words'",
      );
    }
    const withEnv = await refusal(listed.ref, ["printf", "%s", "x"], { LD_PRELOAD: "/tmp/x.so" });
    expect(withEnv.message).toMatch(/may not set environment variables/);
    // A refusal costs nothing else: the next listed exec still runs.
    expect((await client.exec(listed.ref, ["printf", "%s", "still"])).code).toBe(0);
  });
});
