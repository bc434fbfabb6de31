// microVMs from the SDK, typed from the Worker's routes (worker/routes/vms.ts): create, list, show, the
// lifecycle verbs, pause and snapshots, and waiting for a state (polling `show`, bounded in time).
import type { InferRequestType } from "hono/client";
import { type Api, unwrap } from "../client.ts";
import { OutpostApiError } from "../errors.ts";
import type { Outpost } from "../outpost.ts";

type VmCreate = InferRequestType<Api["v1"]["vms"]["$post"]>["json"];
type VmFilters = InferRequestType<Api["v1"]["vms"]["$get"]>["query"];
export type VmView = Awaited<ReturnType<typeof showVm>>["vm"];
export type VmState = VmView["state"];

const byName = (client: Outpost) => client.api.v1.vms[":name"];
const q = (cluster?: string) => (cluster ? { cluster } : {});

export function createVm(client: Outpost, json: VmCreate) {
  return unwrap(client.url, client.api.v1.vms.$post({ json }));
}

export function listVms(client: Outpost, filters: VmFilters = {}) {
  return unwrap(client.url, client.api.v1.vms.$get({ query: filters }));
}

export function showVm(client: Outpost, name: string, cluster?: string) {
  return unwrap(client.url, byName(client).$get({ param: { name }, query: q(cluster) }));
}

/** start, stop (after `timeoutMs` the VM is killed), restart, pause, resume. */
export function vmAction(
  client: Outpost,
  name: string,
  op: "start" | "stop" | "restart" | "pause" | "resume",
  opts: { cluster?: string; timeoutMs?: number } = {},
) {
  const json = op === "stop" && opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {};
  return unwrap(
    client.url,
    client.api.v1.vms[":name"][":op"].$post({ param: { name, op }, query: q(opts.cluster), json }),
  );
}

export function removeVm(client: Outpost, name: string, cluster?: string) {
  return unwrap(client.url, byName(client).$delete({ param: { name }, query: q(cluster) }));
}

export function snapshotVm(
  client: Outpost,
  name: string,
  opts: { snapshot?: string; cluster?: string } = {},
) {
  const json = opts.snapshot ? { name: opts.snapshot } : {};
  return unwrap(
    client.url,
    byName(client).snapshots.$post({ param: { name }, query: q(opts.cluster), json }),
  );
}

export function restoreVm(client: Outpost, name: string, snapshot: string, cluster?: string) {
  return unwrap(
    client.url,
    byName(client).restore.$post({ param: { name }, query: q(cluster), json: { snapshot } }),
  );
}

export function removeVmSnapshot(client: Outpost, name: string, snapshot: string, cluster?: string) {
  return unwrap(
    client.url,
    byName(client).snapshots[":snapshot"].$delete({ param: { name, snapshot }, query: q(cluster) }),
  );
}

/**
 * Polls the VM until it is in `state` (or, for "destroyed", gone), for at most `timeoutMs`. Resolves
 * with its last view (null once destroyed); rejects when it failed instead, or time ran out.
 */
export async function waitForVm(
  client: Outpost,
  name: string,
  state: VmState,
  opts: { cluster?: string; timeoutMs?: number; everyMs?: number } = {},
): Promise<VmView | null> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  for (;;) {
    let vm: VmView | null;
    try {
      vm = (await showVm(client, name, opts.cluster)).vm;
    } catch (error) {
      if (state === "destroyed" && error instanceof OutpostApiError && error.status === 404) return null;
      throw error;
    }
    if (vm.state === state) return vm;
    if (vm.state === "failed" && state !== "failed")
      throw new Error(`VM ${name} failed${vm.message ? `: ${vm.message}` : ""}`);
    if (Date.now() >= deadline)
      throw new Error(
        `VM ${name} is ${vm.state}, not ${state}, after ${Math.round((opts.timeoutMs ?? 120_000) / 1000)} s`,
      );
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 500));
  }
}

/** Waits (at most `timeoutMs`) for the agent's result of one action (a snapshot, a restore, …). */
export async function waitForVmAction(
  client: Outpost,
  name: string,
  actionId: string,
  opts: { cluster?: string; timeoutMs?: number } = {},
): Promise<{ ok: boolean; message?: string }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  for (;;) {
    const { vm } = await showVm(client, name, opts.cluster);
    const result = vm.actionResults.find((a) => a.id === actionId);
    if (result) return result;
    if (Date.now() >= deadline)
      throw new Error(`VM ${name}'s host has not applied the action yet (is it online?)`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
