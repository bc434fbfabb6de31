// Writes test/vectors/frames.json, the wire protocol's known-answer vectors (see test/vectors/generate.ts),
// and test/vectors/client-frames.json, the client stream frames' (test/vectors/client-generate.ts).
// Run after any change to the wire format:  node --import tsx scripts/gen-vectors.ts
// schema/protocol/vectors.test.ts fails while a checked-in file differs from what this writes.

import { writeFileSync } from "node:fs";
import { generateClientVectors } from "../test/vectors/client-generate.ts";
import { generateVectors } from "../test/vectors/generate.ts";
import { generateSecretVectors } from "../test/vectors/secrets-generate.ts";

const write = (name: string, value: unknown) =>
  writeFileSync(new URL(`../test/vectors/${name}`, import.meta.url), `${JSON.stringify(value, null, 2)}\n`);

const vectors = await generateVectors();
write("frames.json", vectors);
console.log(
  `wrote ${vectors.valid.length} valid and ${vectors.invalid.length} invalid vectors to test/vectors/frames.json`,
);
const client = generateClientVectors();
write("client-frames.json", client);
console.log(
  `wrote ${client.valid.length} valid, ${client.normalized.length} normalized and ${client.invalid.length} invalid vectors to test/vectors/client-frames.json`,
);
const secrets = await generateSecretVectors();
write("secrets.json", secrets);
console.log(
  `wrote ${secrets.valid.length} valid and ${secrets.invalid.length} invalid vectors to test/vectors/secrets.json`,
);
