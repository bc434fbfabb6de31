// Builds the Worker bundle once for the whole run; every test's control plane loads the same file. The
// CLI bundle too, so that the tests run `outpost` as users of a built checkout do.
//
// Every temporary directory of the run (agents' state, sshd's keys, Miniflare's, the runtimes' own) goes
// under one, through TMPDIR, which the test processes and everything they start inherit; it is removed
// when the run ends, so that test runs do not pile up thousands of directories in /tmp.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCli, buildWorker } from "../../scripts/build.ts";

export default async function setup(): Promise<() => void> {
  const run = mkdtempSync(join(tmpdir(), "outpost-test-run-"));
  process.env.TMPDIR = run;
  await buildWorker();
  await buildCli();
  return () => rmSync(run, { recursive: true, force: true });
}
