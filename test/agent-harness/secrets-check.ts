// The agent's side of env secrets in a real Bun or Deno process, until the workload frame carries them
// (test/secrets-e2e.test.ts runs it under both): loads the enrolled host's key from its state dir,
// decodes the sealed entries the control plane would send (CBOR, strictly), opens them with openEnv,
// and starts an "app" through the runtime seam with them in its environment; prints one JSON report.
//
//   bun test/agent-harness/secrets-check.ts <state dir> <entries.cbor> <tenant id> <app> <VAR>
//   deno run -A test/agent-harness/secrets-check.ts …
import { readFileSync } from "node:fs";
import { openEnv } from "../../agent/apps/secrets.ts";
import { detectRuntime } from "../../agent/runtime/index.ts";
import { loadIdentity } from "../../agent/state.ts";
import { decodeCbor } from "../../schema/protocol/index.ts";
import { decodeSealedEnv } from "../../schema/secrets/index.ts";

const [stateDir, entriesPath, tenantId, app, variable] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const runtime = detectRuntime();
const report: Record<string, unknown> = { runtime: runtime.name };
const { seed } = await loadIdentity(runtime, stateDir);
const entries = decodeSealedEnv(decodeCbor(new Uint8Array(readFileSync(entriesPath))));

function attempt(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (error) {
    return { threw: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

const env = openEnv({ seed }, entries, { tenantId, app });
const child = runtime.spawn(["sh", "-c", `printf %s "$${variable}"`], {
  env: { PATH: runtime.env("PATH") ?? "/usr/bin:/bin", ...env },
});
const [seen] = await Promise.all([new Response(child.stdout).text(), child.exited]);
report.seen = seen;
report.names = Object.keys(env).sort();
report.otherApp = attempt(() => openEnv({ seed }, entries, { tenantId, app: `${app}-other` }));
report.tampered = attempt(() =>
  openEnv(
    { seed },
    entries.map((e) => ({ ...e, ciphertext: e.ciphertext.map((b, i) => (i === 0 ? b ^ 1 : b)) })),
    { tenantId, app },
  ),
);
report.otherHost = attempt(() => openEnv({ seed: new Uint8Array(32).fill(7) }, entries, { tenantId, app }));
console.log(JSON.stringify(report));
