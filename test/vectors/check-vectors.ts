// Checks schema/protocol against test/vectors/frames.json and client-frames.json in whatever runtime runs it; exits non-zero on
// any mismatch. The agent runs on Bun and Deno, so both are checked (schema/protocol/vectors.test.ts
// spawns them):
//
//   npx bun test/vectors/check-vectors.ts
//   npx deno run test/vectors/check-vectors.ts        # no flags needed: package.json + node_modules
//                                                     # make Deno resolve npm packages from node_modules
//   node --import tsx test/vectors/check-vectors.ts

import { checkVectors } from "./check.ts";
import { checkClientVectors } from "./client-check.ts";
import clientFrames from "./client-frames.json" with { type: "json" };
import type { ClientVectorFile } from "./client-generate.ts";
import frames from "./frames.json" with { type: "json" };
import type { VectorFile } from "./generate.ts";

const file = frames as unknown as VectorFile;
const client = clientFrames as unknown as ClientVectorFile;
const runtime =
  "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : `node ${globalThis.process?.version ?? ""}`;
const failures = [...(await checkVectors(file)), ...checkClientVectors(client)];
for (const failure of failures) console.error(`FAIL ${failure}`);
if (failures.length > 0) {
  console.error(`${failures.length} vector check(s) failed on ${runtime}`);
  process.exitCode = 1;
} else {
  console.log(
    `ok: ${file.valid.length} valid and ${file.invalid.length} invalid vectors, ` +
      `${client.valid.length + client.normalized.length} valid and ${client.invalid.length} invalid client frame vectors on ${runtime}`,
  );
}
