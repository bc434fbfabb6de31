// Builds the Worker bundle once for the whole run; every test's control plane loads the same file. The
// CLI bundle too, so that the tests run `outpost` as users of a built checkout do.
import { buildCli, buildWorker } from "../../scripts/build.ts";

export default async function setup(): Promise<void> {
  await buildWorker();
  await buildCli();
}
