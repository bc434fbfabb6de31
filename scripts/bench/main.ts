// `npm run bench`: Outpost's speed and memory figures, each against a baseline measured in the same
// run, printed as one table. Everything runs on loopback; every loop is bounded in count and time.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent } from "../../test/harness/agent.ts";
import { startSshd } from "../../test/harness/sshd.ts";
import { startStack } from "../../test/harness/stack.ts";
import { buildWorker } from "../build.ts";
import { consoleBench } from "./console-bench.ts";
import { cryptoBench } from "./crypto-bench.ts";
import { dashboardBench } from "./dashboard-bench.ts";
import { deployBench } from "./deploy-bench.ts";
import { execBench } from "./exec-bench.ts";
import { fleetBench } from "./fleet-bench.ts";
import { ptyBench } from "./pty-bench.ts";
import { rssBench, rssKb } from "./rss-bench.ts";
import { streamBench } from "./stream-bench.ts";
import { printTable, type Row } from "./table.ts";
import { killVms, vmBench } from "./vm-bench.ts";
import { zeroDowntimeBench } from "./zero-downtime-bench.ts";

/** The workerd process serving this bench's control plane (the newest one: the bench starts it last). */
function workerdPid(): number | undefined {
  const out = execFileSync("pgrep", ["-n", "-f", "workerd serve"], { encoding: "utf8" }).trim();
  return out ? Number(out) : undefined;
}

async function main(): Promise<void> {
  // Everything the run writes (the files scp copies, agents' state, sshd's keys, Miniflare's) goes under
  // one directory, through TMPDIR, which everything it starts inherits; it is removed at the end.
  const runDir = mkdtempSync(join(tmpdir(), "outpost-bench-"));
  process.env.TMPDIR = runDir;
  try {
    await benchmark();
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

/**
 * `npm run bench -- --only deploy[,streams]`: only those groups of rows (deploy includes downtime, the
 * zero-downtime rows, which run alone too).
 */
const GROUPS = [
  "crypto",
  "exec",
  "rss",
  "streams",
  "pty",
  "dashboard",
  "deploy",
  "downtime",
  "fleet",
  "console",
  "vm",
] as const;
function selectedGroups(argv: string[]): Set<string> {
  const i = argv.indexOf("--only");
  if (i === -1) return new Set(GROUPS);
  const picked = (argv[i + 1] ?? "").split(",").filter(Boolean);
  const unknown = picked.filter((g) => !(GROUPS as readonly string[]).includes(g));
  if (picked.length === 0 || unknown.length > 0)
    throw new Error(`--only takes one or more of ${GROUPS.join(",")}, not '${argv[i + 1] ?? ""}'`);
  return new Set(picked);
}

async function benchmark(): Promise<void> {
  const want = selectedGroups(process.argv.slice(2));
  await buildWorker();
  const rows: Row[] = [];
  if (want.has("crypto")) rows.push(...(await cryptoBench()));
  if ([...want].some((g) => g !== "crypto" && g !== "fleet")) rows.push(...(await stackBenches(want)));
  // The simulated fleet brings a control plane of its own (fleet-bench.ts), started after the shared
  // one is gone so that it has the machine to itself.
  if (want.has("fleet")) rows.push(...(await fleetBench()));
  console.log();
  printTable(rows);
}

async function stackBenches(want: Set<string>): Promise<Row[]> {
  const rows: Row[] = [];
  const stack = await startStack();
  try {
    const { client, token } = await stack.tenant("bench");
    await client.clusters.create("bench");
    await client.sites.create("bench", "local");
    if (want.has("exec")) {
      const agent = await startAgent(client, {
        runtime: "bun",
        name: "exec-bun",
        cluster: "bench",
        site: "local",
        url: stack.url,
      });
      try {
        rows.push(...(await execBench(client, agent, () => rssKb(agent.process.child.pid!))));
      } finally {
        await agent.stop();
      }
    }
    if (want.has("rss")) rows.push(...(await rssBench(client, stack.url)));
    if (want.has("console")) {
      // KVM passes QEMU's probe on some machines and then hangs guests (agent/vm/kvm.ts): TCG unless said.
      process.env.OUTPOST_VM_ACCEL ??= "tcg";
      const agent = await startAgent(client, {
        runtime: "bun",
        name: "console-bun",
        cluster: "bench",
        site: "local",
        url: stack.url,
      });
      try {
        rows.push(...(await consoleBench({ client, agent })));
      } finally {
        await agent.stop();
      }
    }
    if (want.has("vm")) {
      const agent = await startAgent(client, {
        runtime: "bun",
        name: "vm-bun",
        cluster: "bench",
        site: "local",
        url: stack.url,
      });
      try {
        rows.push(...(await vmBench({ agent, env: { OUTPOST_URL: stack.url, OUTPOST_TOKEN: token } })));
      } finally {
        await agent.stop();
        // VMs outlive their agent on purpose: the bench's go with it, by the pids QEMU wrote.
        killVms(agent.stateDir);
      }
    }

    const sshd = await startSshd();
    try {
      if (want.has("deploy") || want.has("downtime")) {
        const agent = await startAgent(client, {
          runtime: "bun",
          name: "deploy",
          cluster: "bench",
          site: "local",
          url: stack.url,
        });
        try {
          const env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: token };
          if (want.has("deploy")) rows.push(...(await deployBench({ agent, env, sshd })));
          rows.push(...(await zeroDowntimeBench({ agent, env })));
        } finally {
          await agent.stop();
        }
      }
      if (want.has("streams") || want.has("pty") || want.has("dashboard")) {
        const streamAgent = await startAgent(client, {
          runtime: "bun",
          name: "streams-bun",
          cluster: "bench",
          site: "local",
          url: stack.url,
          runArgs: ["--service", `ssh=127.0.0.1:${sshd.port}`],
        });
        try {
          const env = { ...process.env, OUTPOST_URL: stack.url, OUTPOST_TOKEN: token };
          if (want.has("pty")) rows.push(...(await ptyBench({ agent: streamAgent, sshd, env })));
          if (want.has("dashboard"))
            rows.push(...(await dashboardBench({ url: stack.url, key: token, agent: streamAgent, env })));
          if (want.has("streams"))
            rows.push(
              ...(await streamBench({
                client,
                agent: streamAgent,
                sshd,
                env,
                workerdPid: () => workerdPid(),
              })),
            );
        } finally {
          await streamAgent.stop();
        }
      }
    } finally {
      await sshd.stop();
    }
  } finally {
    await stack.close();
  }
  return rows;
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : err}`);
  process.exit(1);
});
