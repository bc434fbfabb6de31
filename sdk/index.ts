export { type Api, type ClientOptions, createApi, unwrap } from "./client.ts";
export { OutpostApiError, OutpostConnectionError } from "./errors.ts";
export { Outpost } from "./outpost.ts";
