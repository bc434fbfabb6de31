// `npm run bench`: Outpost's speed and memory figures, each against a baseline measured in the same
// run, printed as one table. Everything runs on loopback; every loop is bounded in count and time.
import { startAgent } from "../../test/harness/agent.ts";
import { startStack } from "../../test/harness/stack.ts";
import { buildWorker } from "../build.ts";
import { cryptoBench } from "./crypto-bench.ts";
import { execBench } from "./exec-bench.ts";
import { rssBench, rssKb } from "./rss-bench.ts";
import { printTable, type Row } from "./table.ts";

async function main(): Promise<void> {
  await buildWorker();
  const rows: Row[] = [];
  rows.push(...(await cryptoBench()));

  const stack = await startStack();
  try {
    const { client } = await stack.tenant("bench");
    await client.clusters.create("bench");
    await client.sites.create("bench", "local");
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
    rows.push(...(await rssBench(client, stack.url)));
  } finally {
    await stack.close();
  }
  console.log();
  printTable(rows);
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : err}`);
  process.exit(1);
});
