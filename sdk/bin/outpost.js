#!/usr/bin/env node
// The `outpost` command. It runs dist/cli.js, the bundle `npm run build` makes, while no source file it
// was built from has changed since; otherwise (a fresh clone, an edit) it loads the TypeScript through
// tsx, so that `npx outpost` works right after `npm install` and never runs stale code. Compiling on
// every start costs about 0.3 s of CPU; an ssh ProxyCommand starts one `outpost` per connection.
// OUTPOST_CLI_FROM_SOURCE=1 always loads the TypeScript.
import { bundleIsFresh } from "./fresh.js";

const bundle = new URL("../../dist/cli.js", import.meta.url);
const inputs = new URL("../../dist/cli.inputs.json", import.meta.url);

let main;
if (process.env.OUTPOST_CLI_FROM_SOURCE !== "1" && bundleIsFresh(bundle, inputs)) {
  ({ main } = await import(bundle.href));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../cli/main.ts"));
}
process.exitCode = await main(process.argv.slice(2));
