// Contract 4, the agent's side: open the sealed env of one app with this host's key, just before a
// release starts. The host's X25519 secret is derived from its ed25519 seed here and dropped after use;
// nothing is written to disk. A variable that does not open (sealed to another host, tampered with,
// moved from another app, variable or version by the control plane) throws EnvOpenError naming it, so the
// deployment fails with that message instead of starting the app with a wrong or missing secret.

import { hostRecipientSecret, openSealedEnv, type SealedEnvEntry } from "../../schema/secrets/index.ts";

export function openEnv(
  identity: { seed: Uint8Array },
  entries: readonly SealedEnvEntry[],
  scope: { tenantId: string; app: string },
): Record<string, string> {
  const secret = hostRecipientSecret(identity.seed);
  try {
    return openSealedEnv(entries, secret, scope);
  } finally {
    secret.fill(0);
  }
}
