// Writes test/vectors/frames.json, the wire protocol's known-answer vectors (see test/vectors/generate.ts).
// Run after any change to the wire format:  node --import tsx scripts/gen-vectors.ts
// schema/protocol/vectors.test.ts fails while the checked-in file differs from what this writes.

import { writeFileSync } from "node:fs";
import { generateVectors } from "../test/vectors/generate.ts";

const path = new URL("../test/vectors/frames.json", import.meta.url);
const vectors = await generateVectors();
writeFileSync(path, `${JSON.stringify(vectors, null, 2)}\n`);
console.log(
  `wrote ${vectors.valid.length} valid and ${vectors.invalid.length} invalid vectors to test/vectors/frames.json`,
);
