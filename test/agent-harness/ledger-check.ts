// Drives agent/action-ledger.ts on whichever runtime runs this file, against the state dir named by
// OUTPOST_LEDGER_DIR, and prints one JSON report; agent/action-ledger.test.ts runs it under Bun and
// Deno, and twice at once against one dir to race two processes. Each scenario catches its own failure.
import { writeFileSync } from "node:fs";
import { ActionLedger } from "../../agent/action-ledger.ts";

const dir = process.env.OUTPOST_LEDGER_DIR ?? "";
const report: Record<string, unknown> = {};
const later = new Date(Date.now() + 3_600_000);

async function scenario(name: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    report[name] = await fn();
  } catch (error) {
    report[name] = { threw: String(error) };
  }
}

const ledger = await ActionLedger.open(dir);

if (process.env.OUTPOST_LEDGER_MODE === "race") {
  // Both processes claim the same 50 ids at once; each reports which it won.
  await scenario("won", async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `job_race${i}`);
    const wins = await Promise.all(ids.map((id) => ledger.claim(id, later)));
    return ids.filter((_, i) => wins[i]);
  });
} else {
  await scenario("once", async () => [
    await ledger.claim("job_a", later),
    await ledger.claim("job_a", later),
  ]);
  await scenario("concurrent", async () => {
    const wins = await Promise.all(Array.from({ length: 20 }, () => ledger.claim("job_b", later)));
    return wins.filter(Boolean).length;
  });
  await scenario("complete", async () => {
    await ledger.complete("job_a", { exit: 0 });
    return [await ledger.get("job_a"), await ledger.claim("job_a", later)];
  });
  await scenario("interrupted", async () => (await ledger.interrupted()).map((e) => e.id));
  await scenario("damaged", async () => {
    writeFileSync(`${dir}/ledger/job_damaged.json`, ""); // a crash between create and write
    const claimed = await ledger.claim("job_damaged", later);
    await ledger.prune(new Date(Date.now() + 10 * 86_400_000));
    return [claimed, (await ledger.get("job_damaged")) !== undefined];
  });
  await scenario("prune", async () => {
    await ledger.claim("job_old", new Date(Date.now() - 2 * 86_400_000));
    const removed = await ledger.prune();
    return [removed, await ledger.get("job_old"), await ledger.claim("job_old", later)];
  });
  await scenario("badId", async () => {
    try {
      await ledger.claim("../../host.key", later);
      return "accepted";
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  });
  await scenario("neverClaimed", async () => {
    try {
      await ledger.complete("job_never", {});
      return "accepted";
    } catch (error) {
      return (error as Error).name;
    }
  });
}

console.log(JSON.stringify(report));
