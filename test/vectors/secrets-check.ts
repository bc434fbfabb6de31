// Checks schema/secrets against secrets.json; returns what failed. Runtime-neutral, so the same check
// runs in Node (vitest), Bun and Deno (check-secrets.ts): the agent opens env in both.

import { x25519 } from "@noble/curves/ed25519.js";
import { _fromHex, _toHex } from "../../schema/protocol/_bytes.ts";
import { formatHostKey, Signer } from "../../schema/protocol/index.ts";
import {
  EnvOpenError,
  envAssociatedData,
  hostRecipientKey,
  hostRecipientSecret,
  keeperPublicKeyOf,
  formatKeeperSecretKey,
  keeperPublicKeyBytes,
  type KeeperPublicKey,
  openSealedEnv,
  sealDataKey,
  sealEnvValue,
} from "../../schema/secrets/index.ts";
import type { SecretEntryJson, SecretVectorFile } from "./secrets-generate.ts";

// RFC 7748 §6.1: the X25519 Diffie-Hellman test vector, so a broken curve in a runtime shows as itself.
const RFC7748 = {
  aliceSecret: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
  alicePublic: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  bobPublic: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
  shared: "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
};

function _entry(json: SecretEntryJson) {
  return {
    name: json.name,
    version: json.version,
    ciphertext: _fromHex(json.ciphertextHex),
    nonce: _fromHex(json.nonceHex),
    sealedKey: _fromHex(json.sealedKeyHex),
  };
}

export async function checkSecretVectors(file: SecretVectorFile): Promise<string[]> {
  const failures: string[] = [];
  const fail = (what: string) => failures.push(what);
  const aliceSecret = _fromHex(RFC7748.aliceSecret);
  if (_toHex(x25519.getPublicKey(aliceSecret)) !== RFC7748.alicePublic) fail("RFC 7748: public key differs");
  if (_toHex(x25519.getSharedSecret(aliceSecret, _fromHex(RFC7748.bobPublic))) !== RFC7748.shared)
    fail("RFC 7748: shared secret differs");

  const seed = _fromHex(file.host.seedHex);
  const hostKey = formatHostKey((await Signer.fromSeed(seed)).publicKey);
  if (hostKey !== file.host.publicKey) fail("host: ed25519 public key differs");
  const hostX = hostRecipientKey(hostKey);
  const hostSecret = hostRecipientSecret(seed);
  if (_toHex(hostX) !== file.host.x25519PublicHex) fail("host: X25519 public key differs");
  if (_toHex(hostSecret) !== file.host.x25519SecretHex) fail("host: X25519 secret key differs");
  if (_toHex(x25519.getPublicKey(hostSecret)) !== file.host.x25519PublicHex)
    fail("host: X25519 secret does not match the public key derived from the ed25519 key");
  const keeperSecret = _fromHex(file.keeper.secretHex);
  if (keeperPublicKeyOf(formatKeeperSecretKey(keeperSecret)) !== file.keeper.publicKey) fail("keeper: public key differs");
  const keeperX = keeperPublicKeyBytes(file.keeper.publicKey as KeeperPublicKey);

  for (const v of file.valid) {
    const at = `valid "${v.name}"`;
    try {
      const binding = { tenantId: v.tenantId, app: v.app, name: v.name, version: v.version };
      if (_toHex(envAssociatedData(binding)) !== v.aadHex) fail(`${at}: associated data differs`);
      const drawn = [_fromHex(v.dataKeyHex), _fromHex(v.nonceHex)];
      const sealed = sealEnvValue(binding, v.value, () => drawn.shift() as Uint8Array);
      if (_toHex(sealed.ciphertext) !== v.ciphertextHex) fail(`${at}: ciphertext differs`);
      const aad = _fromHex(v.aadHex);
      const dataKey = _fromHex(v.dataKeyHex);
      if (_toHex(sealDataKey(dataKey, hostX, aad, _fromHex(v.hostEphemeralHex))) !== v.sealedToHostHex)
        fail(`${at}: key sealed to the host differs`);
      if (_toHex(sealDataKey(dataKey, keeperX, aad, _fromHex(v.keeperEphemeralHex))) !== v.sealedToKeeperHex)
        fail(`${at}: key sealed to the keeper differs`);
      const scope = { tenantId: v.tenantId, app: v.app };
      const base = { name: v.name, version: v.version, ciphertextHex: v.ciphertextHex, nonceHex: v.nonceHex };
      const byHost = openSealedEnv([_entry({ ...base, sealedKeyHex: v.sealedToHostHex })], hostSecret, scope);
      if (byHost[v.name] !== v.value) fail(`${at}: the host opened a different value`);
      const byKeeper = openSealedEnv([_entry({ ...base, sealedKeyHex: v.sealedToKeeperHex })], keeperSecret, scope);
      if (byKeeper[v.name] !== v.value) fail(`${at}: the keeper opened a different value`);
    } catch (error) {
      fail(`${at}: ${error}`);
    }
  }
  for (const v of file.invalid) {
    const at = `invalid "${v.name}"`;
    try {
      openSealedEnv([_entry(v.entry)], v.recipient === "host" ? hostSecret : keeperSecret, v);
      fail(`${at}: opened, expected EnvOpenError`);
    } catch (error) {
      if (!(error instanceof EnvOpenError)) fail(`${at}: threw ${error}, expected EnvOpenError`);
      else if (error.variable !== v.entry.name) fail(`${at}: error names ${error.variable}, expected ${v.entry.name}`);
    }
  }
  return failures;
}
