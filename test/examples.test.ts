// The README's examples are files in examples/ (issue 12, item 12), run here against a real control
// plane on a fresh tenant, as a new user would after `npm start`: the SDK script (examples/sdk.ts,
// which must make the cluster and site itself) and the CLI walk-through (examples/cli-walkthrough.sh).
// The README shows each file verbatim; this test fails when they drift apart.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type TestAgent } from "./harness/agent.ts";
import { CLI_BIN } from "./harness/cli.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, "utf8");

let stack: Stack;
let agent: TestAgent | undefined;

beforeAll(async () => {
  stack = await startStack();
}, 120_000);
afterAll(async () => {
  await agent?.stop();
  await stack?.close();
});

function run(file: string, args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      file,
      args,
      { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("examples/", () => {
  it("the README shows examples/sdk.ts and examples/cli-walkthrough.sh exactly", () => {
    const readme = read("README.md");
    expect(readme).toContain(`\`\`\`ts\n${read("examples/sdk.ts")}\`\`\``);
    expect(readme).toContain(`\`\`\`sh\n${read("examples/cli-walkthrough.sh")}\`\`\``);
  });

  it("runs the SDK example on a fresh control plane, then against an enrolled host", async () => {
    const t = await stack.tenant("sdk-example");
    const env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: t.token };
    const first = await run(process.execPath, ["--import", "tsx", "examples/sdk.ts", "web01.prod"], env);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/to enroll a host, run on it: curl .*install\.sh/);
    expect(first.stdout).toContain("online in prod: none yet");

    agent = await startAgent(t.client, {
      runtime: "bun",
      name: "web01",
      cluster: "prod",
      site: "fra1",
      url: stack.url,
    });
    const second = await run(process.execPath, ["--import", "tsx", "examples/sdk.ts", "web01.prod"], env);
    expect(second.stderr).toBe("");
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("online in prod: web01.prod");
    expect(second.stdout).toMatch(/uname -a on web01\.prod \(exit 0\): \S+/);
    expect(second.stdout).toContain("ls exited with 0");
  }, 120_000);

  it("runs the CLI walk-through on a fresh tenant", async () => {
    const t = await stack.tenant("cli-example");
    const res = await run("sh", ["examples/cli-walkthrough.sh"], {
      OUTPOST_URL: stack.url,
      OUTPOST_TOKEN: t.token,
      OUTPOST_CLI: `${process.execPath} ${CLI_BIN}`,
      XDG_CONFIG_HOME: stack.dir,
    });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/install\.sh/);
    expect(res.stdout).toMatch(/prod/);
    expect(res.stdout).toMatch(/cluster\.create/);
  }, 120_000);
});
