// The vector check as a Worker, so it runs in real workerd (schema/protocol/vectors.test.ts bundles it
// with esbuild and serves it with miniflare). GET / answers { runtime, backend, failures }.

import { ed25519Backend } from "../../schema/protocol/index.ts";
import { checkVectors } from "./check.ts";
import frames from "./frames.json" with { type: "json" };
import type { VectorFile } from "./generate.ts";

export default {
  async fetch(): Promise<Response> {
    const failures = await checkVectors(frames as unknown as VectorFile);
    return Response.json({ runtime: navigator.userAgent, backend: await ed25519Backend(), failures });
  },
};
