// Before a deploy: every env var of the app must be sealed to each target host. What is not is re-sealed
// here with a keeper key of this tenant kept on this machine (contract 4's resealForHosts); with none,
// the deploy is refused for that host with what to run, so an app never starts without its secrets.
import type { Outpost } from "../outpost.ts";
import { envApi, keeperApi } from "./api.ts";
import { localKeepers } from "./keeper-store.ts";
import { resealForHosts } from "./reseal.ts";

export async function sealEnvForDeploy(
  client: Outpost,
  opts: { app: string; hosts: readonly string[]; configDir: string },
): Promise<{ resealed: string[] }> {
  const { items } = await envApi.list(client, opts.app);
  if (items.length === 0) return { resealed: [] };
  const lacking: { ref: string; fqdn: string }[] = [];
  for (const ref of opts.hosts) {
    const { host } = await client.hosts.get(ref);
    if (items.some((i) => !i.recipients.some((r) => r.id === host.id)))
      lacking.push({ ref, fqdn: host.fqdn });
  }
  if (lacking.length === 0) return { resealed: [] };
  const registered = new Set((await keeperApi.list(client)).items.map((k) => k.publicKey as string));
  const keeper = localKeepers(opts.configDir).find((k) => registered.has(k.publicKey));
  if (!keeper) {
    const hosts = lacking.map((h) => h.fqdn);
    throw new Error(
      `Cannot deploy ${opts.app} to ${hosts.join(", ")}: its env is not sealed to ${hosts.length > 1 ? "them" : "it"} and no keeper key of this tenant is on this machine; run 'outpost env reseal ${opts.app} ${hosts.map((h) => `--host ${h}`).join(" ")}' where one is, then deploy again`,
    );
  }
  const res = await resealForHosts(client, {
    app: opts.app,
    hostIds: lacking.map((h) => h.ref),
    keeper: keeper.secretKey,
  });
  return { resealed: res.hosts };
}
