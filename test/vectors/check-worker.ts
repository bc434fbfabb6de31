// The vector check as a Worker, so it runs in real workerd (schema/protocol/vectors.test.ts bundles it
// with esbuild and serves it with miniflare). GET / answers { runtime, backend, failures, client }, `client`
// the client stream frames' failures (client-frames.json).

import { ed25519Backend } from "../../schema/protocol/index.ts";
import { checkVectors } from "./check.ts";
import { checkClientVectors } from "./client-check.ts";
import clientFrames from "./client-frames.json" with { type: "json" };
import type { ClientVectorFile } from "./client-generate.ts";
import frames from "./frames.json" with { type: "json" };
import type { VectorFile } from "./generate.ts";

export default {
  async fetch(): Promise<Response> {
    const failures = await checkVectors(frames as unknown as VectorFile);
    const client = checkClientVectors(clientFrames as unknown as ClientVectorFile);
    return Response.json({ runtime: navigator.userAgent, backend: await ed25519Backend(), failures, client });
  },
};
