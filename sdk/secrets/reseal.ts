// Contract 4, the deploying CLI's side: seal an app's env for hosts that are not yet recipients, with a
// keeper key held here. The keeper opens each data key sealed to it, checks that it opens the value
// (so a tampered entry is refused rather than passed on), seals the key to each host, and adds those
// seals; the ciphertext is not touched and no plaintext leaves this process.
import { fromBase64Url, toBase64Url } from "../../schema/protocol/base64.ts";
import { type HostPublicKey, parseHostKey } from "../../schema/protocol/keys.ts";
import {
  envAssociatedData,
  hostRecipientKey,
  type KeeperSecretKey,
  keeperPublicKeyOf,
  keeperSecretKeyBytes,
  openDataKey,
  openEnvValue,
  sealDataKey,
} from "../../schema/secrets/index.ts";
import type { Outpost } from "../outpost.ts";
import { envApi, type SealsAdd } from "./api.ts";

/** Seals every env var of `app` to each host; returns the names re-sealed. Throws naming a var the keeper cannot open. */
export async function resealForHosts(
  client: Outpost,
  opts: { app: string; hostIds: readonly string[]; keeper: KeeperSecretKey },
): Promise<{ names: string[]; hosts: string[] }> {
  const keeperPublic = keeperPublicKeyOf(opts.keeper);
  const { tenantId, items } = await envApi.sealed(client, opts.app, keeperPublic);
  if (items.length === 0 || opts.hostIds.length === 0) return { names: [], hosts: [] };
  const hosts = [];
  for (const ref of new Set(opts.hostIds)) {
    const { host } = await client.hosts.get(ref);
    hosts.push({
      id: host.id,
      fqdn: host.fqdn,
      key: hostRecipientKey(parseHostKey(host.publicKey as HostPublicKey)),
    });
  }
  const secret = keeperSecretKeyBytes(opts.keeper);
  const seals: SealsAdd["seals"] = [];
  try {
    for (const item of items) {
      if (item.sealedKey === null)
        throw new Error(
          `Cannot re-seal env ${item.name} of ${opts.app}: it is not sealed to this keeper (${keeperPublic}); set it again with 'outpost env set'`,
        );
      const binding = { tenantId, app: opts.app, name: item.name, version: item.version };
      const aad = envAssociatedData(binding);
      let dataKey: Uint8Array;
      try {
        dataKey = openDataKey(fromBase64Url(item.sealedKey), secret, aad);
        openEnvValue(
          binding,
          { ciphertext: fromBase64Url(item.ciphertext), nonce: fromBase64Url(item.nonce) },
          dataKey,
        );
      } catch {
        throw new Error(
          `Cannot re-seal env ${item.name} of ${opts.app}: it does not open with this keeper's key (moved or altered)`,
        );
      }
      for (const host of hosts)
        seals.push({
          name: item.name,
          version: item.version,
          recipient: host.id,
          sealedKey: toBase64Url(sealDataKey(dataKey, host.key, aad)),
        });
      dataKey.fill(0);
    }
  } finally {
    secret.fill(0);
  }
  await envApi.addSeals(client, opts.app, { seals });
  return { names: items.map((i) => i.name), hosts: hosts.map((h) => h.fqdn) };
}
