// `outpost env set`: encrypts each value here and seals its data key to every recipient (the given hosts
// and all of the tenant's keepers), then stores the batch in one request. The plaintext and the data
// keys never leave this process; the data keys are wiped once sealed.
import { toBase64Url } from "../../schema/protocol/base64.ts";
import { type HostPublicKey, parseHostKey } from "../../schema/protocol/keys.ts";
import {
  checkEnvName,
  envAssociatedData,
  hostRecipientKey,
  type KeeperPublicKey,
  keeperPublicKeyBytes,
  sealDataKey,
  sealEnvValue,
} from "../../schema/secrets/index.ts";
import type { Outpost } from "../outpost.ts";
import { type EnvPut, envApi, keeperApi } from "./api.ts";

export interface SetEnvResult {
  items: { name: string; version: number; recipients: number }[];
  hosts: string[];
  keepers: string[];
}

/** Host refs (`web01.prod` or ids) → id and X25519 recipient key. */
async function _hostRecipients(client: Outpost, refs: readonly string[]) {
  const out: { id: string; fqdn: string; key: Uint8Array }[] = [];
  for (const ref of new Set(refs)) {
    const { host } = await client.hosts.get(ref);
    out.push({
      id: host.id,
      fqdn: host.fqdn,
      key: hostRecipientKey(parseHostKey(host.publicKey as HostPublicKey)),
    });
  }
  return out;
}

export async function setEnv(
  client: Outpost,
  opts: { app: string; vars: Record<string, string>; hosts: readonly string[] },
): Promise<SetEnvResult> {
  for (const name of Object.keys(opts.vars)) checkEnvName(name);
  const [current, keepers, hosts] = await Promise.all([
    envApi.list(client, opts.app),
    keeperApi.list(client),
    _hostRecipients(client, opts.hosts),
  ]);
  const versions = new Map(current.items.map((e) => [e.name, e.version]));
  const recipients = [
    ...hosts.map((h) => ({ id: h.id, key: h.key })),
    ...keepers.items.map((k) => ({
      id: k.publicKey,
      key: keeperPublicKeyBytes(k.publicKey as KeeperPublicKey),
    })),
  ];
  if (recipients.length === 0)
    throw new Error(
      "Cannot set env: no recipient to seal it to; name a host with --host or register a keeper with 'outpost keeper init'",
    );
  const entries: EnvPut["entries"] = Object.entries(opts.vars).map(([name, value]) => {
    const binding = {
      tenantId: current.tenantId,
      app: opts.app,
      name,
      version: (versions.get(name) ?? 0) + 1,
    };
    const { ciphertext, nonce, dataKey } = sealEnvValue(binding, value);
    const aad = envAssociatedData(binding);
    try {
      return {
        name,
        version: binding.version,
        ciphertext: toBase64Url(ciphertext),
        nonce: toBase64Url(nonce),
        seals: recipients.map((r) => ({
          recipient: r.id,
          sealedKey: toBase64Url(sealDataKey(dataKey, r.key, aad)),
        })),
      };
    } finally {
      dataKey.fill(0);
    }
  });
  const res = await envApi.put(client, opts.app, { entries });
  return { items: res.items, hosts: hosts.map((h) => h.fqdn), keepers: keepers.items.map((k) => k.name) };
}
