// The control plane's own ed25519 key (Worker secret CP_SIGNING_KEY: 32 random bytes, base64url). It
// signs every frame the control plane sends; agents pin its public key at enrollment.
import { formatControlPlaneKey, Signer } from "../../schema/protocol/index.ts";
import type { Bindings } from "../env.ts";

export async function controlPlaneSigner(env: Bindings): Promise<Signer> {
  return Signer.fromSeed(seedBytes(env));
}

/** The signing seed's 32 bytes; other control plane keys are derived from it (HKDF, own labels). */
export function seedBytes(env: Bindings): Uint8Array<ArrayBuffer> {
  const text = env.CP_SIGNING_KEY;
  if (!text)
    throw new Error(
      "CP_SIGNING_KEY is not set: 'wrangler secret put CP_SIGNING_KEY' (32 random bytes, base64url)",
    );
  const seed = Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  if (seed.length !== 32)
    throw new Error(`CP_SIGNING_KEY must be 32 bytes of base64url, got ${seed.length} bytes`);
  return seed;
}

export async function controlPlanePublicKey(env: Bindings): Promise<string> {
  return formatControlPlaneKey((await controlPlaneSigner(env)).publicKey);
}
