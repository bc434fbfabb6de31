// The Worker's entry point: the HTTP app and the Durable Object classes named in wrangler.toml.
import { app } from "./app.ts";

export type { AppType } from "./app.ts";
export { ClusterDO } from "./durable/cluster-do.ts";
export { HostDO } from "./durable/host-do.ts";
export { ThrottleDO } from "./durable/throttle-do.ts";

export default app;
