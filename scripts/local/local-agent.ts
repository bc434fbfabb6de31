// The agent `npm start` runs on this machine: host `local` in cluster `dev`, enrolled on first start
// (state in OUTPOST_HOME/agent), run under Bun from the freshly built dist/agent.js, with
// --allow-loopback and whatever OUTPOST_AGENT_FLAGS and OUTPOST_HOME/agent/agent.toml add.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Outpost, OutpostApiError } from "../../sdk/index.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const bun = join(root, "node_modules/.bin/bun");
const agentJs = join(root, "dist/agent.js");

export async function startLocalAgent(opts: {
  url: string;
  token: string;
  home: string;
  /** More `run` flags (OUTPOST_AGENT_FLAGS, already split into words). */
  flags?: readonly string[];
}): Promise<ChildProcess> {
  const stateDir = join(opts.home, "agent");
  const client = new Outpost({ url: opts.url, token: opts.token });
  const known = await client.hosts.get("local.dev").then(
    () => true,
    (err: unknown) => {
      if (err instanceof OutpostApiError && err.status === 404) return false;
      throw err;
    },
  );
  if (!known || !existsSync(join(stateDir, "state.json"))) {
    if (known) await client.hosts.delete("local.dev"); // its key is gone; enroll afresh under the same name
    const { token } = await client.tokens.create({ cluster: "dev", site: "local", ttl: "5m" });
    // Async on purpose: this process also serves the libSQL database the enrollment writes to.
    const enroll = spawn(
      bun,
      [
        agentJs,
        "enroll",
        "--url",
        opts.url,
        "--token",
        token,
        "--name",
        "local",
        "--state-dir",
        stateDir,
        "--force",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    enroll.stdout.on("data", (d: Buffer) => (output += d));
    enroll.stderr.on("data", (d: Buffer) => (output += d));
    const [code] = (await once(enroll, "close")) as [number | null];
    if (code !== 0) throw new Error(`the local agent could not enroll: ${output.trim()}`);
  }
  // --allow-loopback: on your own machine, `outpost proxy local.dev 22` may reach any local port.
  // The user's flags come after, as argv words (never a shell), and the agent checks them.
  const argv = [agentJs, "run", "--state-dir", stateDir, "--allow-loopback", ...(opts.flags ?? [])];
  const child = spawn(bun, argv, { stdio: ["ignore", "inherit", "inherit"] });
  child.on("exit", (code, signal) => {
    if (code !== null && code !== 0) console.error(`outpost: the local agent exited with code ${code}`);
    else if (signal !== null && signal !== "SIGTERM")
      console.error(`outpost: the local agent died (${signal})`);
  });
  // Synchronous on purpose: Miniflare's exit hook may end the process before async cleanup runs.
  process.on("exit", () => child.kill("SIGTERM"));
  return child;
}
