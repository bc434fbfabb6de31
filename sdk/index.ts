export { type Api, type ClientOptions, createApi, unwrap } from "./client.ts";
export { OutpostApiError, OutpostConnectionError, OutpostStreamError } from "./errors.ts";
export type { ExecResult, ExecStream } from "./exec.ts";
export { Outpost } from "./outpost.ts";
