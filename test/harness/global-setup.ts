// Builds the Worker bundle once for the whole run; every test's control plane loads the same file.
import { buildWorker } from "../../scripts/build.ts";

export default async function setup(): Promise<void> {
  await buildWorker();
}
