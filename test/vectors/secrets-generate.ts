// Builds the known-answer vectors in secrets.json: env values sealed (schema/secrets/) from a fixed seed,
// to a host (X25519 from its ed25519 key) and to a keeper, plus entries that must NOT open (moved to
// another tenant, app, name or version; wrong recipient; altered bytes). scripts/gen-vectors.ts writes
// the file; test/secrets-crypto.test.ts checks it is current and that Node, Bun and Deno all agree.

import { sha256 } from "@noble/hashes/sha2.js";
import { _fromHex, _toHex } from "../../schema/protocol/_bytes.ts";
import { formatHostKey, Signer } from "../../schema/protocol/index.ts";
import {
  envAssociatedData,
  hostRecipientKey,
  hostRecipientSecret,
  keeperPublicKeyBytes,
  keeperSecretKeyBytes,
  newKeeperKeyPair,
  sealDataKey,
  sealEnvValue,
} from "../../schema/secrets/index.ts";

export interface SecretEntryJson {
  name: string;
  version: number;
  ciphertextHex: string;
  nonceHex: string;
  sealedKeyHex: string;
}

interface SecretValidVector {
  name: string;
  tenantId: string;
  app: string;
  version: number;
  value: string;
  /** The random bytes sealEnvValue drew: data key then nonce. */
  dataKeyHex: string;
  nonceHex: string;
  aadHex: string;
  ciphertextHex: string;
  /** The ephemeral X25519 secrets of the two seals, and the seals. */
  hostEphemeralHex: string;
  keeperEphemeralHex: string;
  sealedToHostHex: string;
  sealedToKeeperHex: string;
}

interface SecretInvalidVector {
  name: string;
  recipient: "host" | "keeper";
  tenantId: string;
  app: string;
  entry: SecretEntryJson;
}

export interface SecretVectorFile {
  host: { seedHex: string; publicKey: string; x25519PublicHex: string; x25519SecretHex: string };
  keeper: { secretHex: string; publicKey: string };
  valid: SecretValidVector[];
  invalid: SecretInvalidVector[];
}

/** A deterministic byte stream from a label: sha256(label ‖ counter) blocks. */
function _stream(label: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 32) {
      const block = sha256(new TextEncoder().encode(`${label}/${counter++}`));
      out.set(block.subarray(0, Math.min(32, n - i)), i);
    }
    return out;
  };
}

const CASES = [
  { name: "DATABASE_URL", tenantId: "ten_AAAAAAAAAAAAAAAAAAAAAA", app: "shop", version: 1, value: "postgres://shop:s3cret@db/shop" },
  { name: "EMPTY", tenantId: "ten_AAAAAAAAAAAAAAAAAAAAAA", app: "shop", version: 7, value: "" },
  { name: "UNICODE_AND_NEWLINES", tenantId: "ten_BBBBBBBBBBBBBBBBBBBBBB", app: "api", version: 42, value: "päss\nwörd\u0000✓" },
];

export async function generateSecretVectors(): Promise<SecretVectorFile> {
  const random = _stream("outpost secrets vectors");
  const hostSeed = random(32);
  const hostKey = formatHostKey((await Signer.fromSeed(hostSeed)).publicKey);
  const keeper = newKeeperKeyPair(random(32));
  const hostX = hostRecipientKey(hostKey);
  const valid: SecretValidVector[] = [];
  for (const c of CASES) {
    const binding = { tenantId: c.tenantId, app: c.app, name: c.name, version: c.version };
    const dataKey = random(32);
    const nonce = random(24);
    const drawn = [dataKey, nonce];
    const sealed = sealEnvValue(binding, c.value, () => drawn.shift() as Uint8Array);
    const aad = envAssociatedData(binding);
    const hostEphemeral = random(32);
    const keeperEphemeral = random(32);
    valid.push({
      ...c,
      dataKeyHex: _toHex(dataKey),
      nonceHex: _toHex(nonce),
      aadHex: _toHex(aad),
      ciphertextHex: _toHex(sealed.ciphertext),
      hostEphemeralHex: _toHex(hostEphemeral),
      keeperEphemeralHex: _toHex(keeperEphemeral),
      sealedToHostHex: _toHex(sealDataKey(dataKey, hostX, aad, hostEphemeral)),
      sealedToKeeperHex: _toHex(sealDataKey(dataKey, keeperPublicKeyBytes(keeper.publicKey), aad, keeperEphemeral)),
    });
  }
  const first = valid[0] as SecretValidVector;
  const entry = (over: Partial<SecretEntryJson> = {}): SecretEntryJson => ({
    name: first.name,
    version: first.version,
    ciphertextHex: first.ciphertextHex,
    nonceHex: first.nonceHex,
    sealedKeyHex: first.sealedToHostHex,
    ...over,
  });
  const flip = (hex: string, at: number) => {
    const bytes = _fromHex(hex);
    bytes[at] = (bytes[at] as number) ^ 1;
    return _toHex(bytes);
  };
  const scope = { tenantId: first.tenantId, app: first.app };
  const invalid: SecretInvalidVector[] = [
    { name: "moved to another tenant", recipient: "host", ...scope, tenantId: "ten_CCCCCCCCCCCCCCCCCCCCCC", entry: entry() },
    { name: "moved to another app", recipient: "host", ...scope, app: "billing", entry: entry() },
    { name: "moved to another name", recipient: "host", ...scope, entry: entry({ name: "OTHER" }) },
    { name: "moved to another version", recipient: "host", ...scope, entry: entry({ version: 2 }) },
    { name: "sealed to the keeper, opened by the host", recipient: "host", ...scope, entry: entry({ sealedKeyHex: first.sealedToKeeperHex }) },
    { name: "sealed to the host, opened by the keeper", recipient: "keeper", ...scope, entry: entry() },
    { name: "ciphertext altered", recipient: "host", ...scope, entry: entry({ ciphertextHex: flip(first.ciphertextHex, 0) }) },
    { name: "tag altered", recipient: "host", ...scope, entry: entry({ ciphertextHex: flip(first.ciphertextHex, first.ciphertextHex.length / 2 - 1) }) },
    { name: "nonce altered", recipient: "host", ...scope, entry: entry({ nonceHex: flip(first.nonceHex, 3) }) },
    { name: "sealed key's ephemeral altered", recipient: "host", ...scope, entry: entry({ sealedKeyHex: flip(first.sealedToHostHex, 5) }) },
    { name: "sealed key's ciphertext altered", recipient: "host", ...scope, entry: entry({ sealedKeyHex: flip(first.sealedToHostHex, 40) }) },
    // Another value's ciphertext with this entry's sealed key: the data key opens, the value does not.
    {
      name: "ciphertext swapped with another variable's",
      recipient: "host",
      ...scope,
      entry: entry({ ciphertextHex: (valid[1] as SecretValidVector).ciphertextHex, nonceHex: (valid[1] as SecretValidVector).nonceHex }),
    },
  ];
  return {
    host: {
      seedHex: _toHex(hostSeed),
      publicKey: hostKey,
      x25519PublicHex: _toHex(hostX),
      x25519SecretHex: _toHex(hostRecipientSecret(hostSeed)),
    },
    keeper: { secretHex: _toHex(keeperSecretKeyBytes(keeper.secretKey)), publicKey: keeper.publicKey },
    valid,
    invalid,
  };
}
