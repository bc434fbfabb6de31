#!/usr/bin/env node
// The `outpost` command. The CLI is TypeScript; tsx loads it without a build step so that `npx outpost`
// works right after `npm install`.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
