// Checks schema/secrets against test/vectors/secrets.json in whatever runtime runs it; exits non-zero on
// any mismatch (test/secrets-crypto.test.ts spawns it under Bun and Deno, where the agent opens env):
//
//   npx bun test/vectors/check-secrets.ts
//   npx deno run test/vectors/check-secrets.ts

import secrets from "./secrets.json" with { type: "json" };
import { checkSecretVectors } from "./secrets-check.ts";
import type { SecretVectorFile } from "./secrets-generate.ts";

const file = secrets as unknown as SecretVectorFile;
const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : `node ${globalThis.process?.version ?? ""}`;
const failures = await checkSecretVectors(file);
for (const failure of failures) console.error(`FAIL ${failure}`);
if (failures.length > 0) {
  console.error(`${failures.length} secret vector check(s) failed on ${runtime}`);
  process.exitCode = 1;
} else {
  console.log(`ok: ${file.valid.length} valid and ${file.invalid.length} invalid secret vectors on ${runtime}`);
}
