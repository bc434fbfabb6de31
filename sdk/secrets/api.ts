// The env and keeper routes, typed from the Worker's own (worker/routes/env.ts, keepers.ts).
import type { InferRequestType } from "hono/client";
import { type Api, unwrap } from "../client.ts";
import type { Outpost } from "../outpost.ts";

export type EnvPut = InferRequestType<Api["v1"]["apps"][":app"]["env"]["$put"]>["json"];
export type SealsAdd = InferRequestType<Api["v1"]["apps"][":app"]["env"]["seals"]["$post"]>["json"];

export const envApi = {
  list: (client: Outpost, app: string) =>
    unwrap(client.url, client.api.v1.apps[":app"].env.$get({ param: { app } })),
  sealed: (client: Outpost, app: string, recipient: string) =>
    unwrap(client.url, client.api.v1.apps[":app"].env.sealed.$get({ param: { app }, query: { recipient } })),
  put: (client: Outpost, app: string, json: EnvPut) =>
    unwrap(client.url, client.api.v1.apps[":app"].env.$put({ param: { app }, json })),
  addSeals: (client: Outpost, app: string, json: SealsAdd) =>
    unwrap(client.url, client.api.v1.apps[":app"].env.seals.$post({ param: { app }, json })),
  remove: (client: Outpost, app: string, name: string) =>
    unwrap(client.url, client.api.v1.apps[":app"].env[":name"].$delete({ param: { app, name } })),
};

export const keeperApi = {
  list: (client: Outpost) => unwrap(client.url, client.api.v1.keepers.$get()),
  add: (client: Outpost, name: string, publicKey: string) =>
    unwrap(client.url, client.api.v1.keepers.$post({ json: { name, publicKey } })),
  remove: (client: Outpost, name: string) =>
    unwrap(client.url, client.api.v1.keepers[":name"].$delete({ param: { name } })),
};
