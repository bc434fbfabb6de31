// Bundles the Worker (for Miniflare locally and in tests) and the agent (one file for Bun and Deno).
// `wrangler deploy` bundles the Worker itself from wrangler.toml; this build mirrors its settings.
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

export async function buildWorker(outfile = `${root}dist/worker.js`): Promise<string> {
  await esbuild.build({
    entryPoints: [`${root}worker/index.ts`],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*", "node:*"],
    logLevel: "warning",
  });
  return outfile;
}

export async function buildAgent(outfile = `${root}dist/agent.js`): Promise<string> {
  await esbuild.build({
    entryPoints: [`${root}agent/main.ts`],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["browser", "import"],
    mainFields: ["module", "main"],
    external: ["node:*"],
    banner: { js: "// Outpost agent — one file for Bun and Deno. See https://github.com/outpost (README)." },
    logLevel: "warning",
  });
  return outfile;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const what = process.argv[2] ?? "all";
  if (what === "worker" || what === "all") console.log(await buildWorker());
  if (what === "agent" || what === "all") console.log(await buildAgent());
}
