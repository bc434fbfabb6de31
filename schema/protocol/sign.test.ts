import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { _fromHex, _toHex } from "./_bytes.ts";
import { ed25519Backend } from "./_ed25519.ts";
import { formatHostKey, keyIdOf } from "./keys.ts";
import { generateKeyPair, Signer } from "./sign.ts";
import { Verifier } from "./verify.ts";

// RFC 8032 §7.1, TESTS 1–3.
const RFC8032 = [
  {
    seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "",
    signature:
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "72",
    signature:
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
  {
    seed: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    message: "af82",
    signature:
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  },
];

const BACKENDS = ["webcrypto", "noble"] as const;

describe("ed25519", () => {
  it("uses WebCrypto where the runtime has it (Node ≥ 20 does)", async () => {
    expect(await ed25519Backend()).toBe("webcrypto");
  });

  for (const backend of BACKENDS) {
    it(`matches RFC 8032 §7.1 with ${backend}`, async () => {
      for (const v of RFC8032) {
        const signer = await Signer.fromSeed(_fromHex(v.seed), { backend });
        expect(signer.backend).toBe(backend);
        expect(_toHex(signer.publicKey)).toBe(v.publicKey);
        expect(signer.keyId).toBe(keyIdOf(signer.publicKey));
        expect(_toHex(await signer.sign(_fromHex(v.message)))).toBe(v.signature);
        const verifier = new Verifier(_fromHex(v.publicKey), { backend });
        expect(await verifier.verify(_fromHex(v.signature), _fromHex(v.message))).toBe(true);
        expect(await verifier.verify(_fromHex(v.signature), Uint8Array.of(1))).toBe(false);
      }
    });
  }

  it("WebCrypto and noble agree: each verifies the other's signatures, and tampering fails both", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 512 }),
        fc.nat(),
        async (seed, message, flip) => {
          const web = await Signer.fromSeed(seed, { backend: "webcrypto" });
          const noble = await Signer.fromSeed(seed, { backend: "noble" });
          expect(web.publicKey).toEqual(noble.publicKey);
          const signature = await web.sign(message);
          expect(await noble.sign(message)).toEqual(signature); // Ed25519 is deterministic
          const tampered = signature.slice();
          tampered[flip % 64]! ^= 1 << (flip % 8);
          for (const backend of BACKENDS) {
            const verifier = new Verifier(web.publicKey, { backend });
            expect(await verifier.verify(signature, message)).toBe(true);
            expect(await verifier.verify(tampered, message)).toBe(false);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("generates key pairs and takes public keys in either form", async () => {
    const { seed, publicKey } = await generateKeyPair();
    expect(seed).toHaveLength(32);
    const signer = await Signer.fromSeed(seed);
    expect(signer.publicKey).toEqual(publicKey);
    const signature = await signer.sign(Uint8Array.of(1, 2, 3));
    expect(await new Verifier(formatHostKey(publicKey)).verify(signature, Uint8Array.of(1, 2, 3))).toBe(true);
  });

  it("checks inputs at the boundary", async () => {
    await expect(Signer.fromSeed(new Uint8Array(31))).rejects.toThrow(
      "Cannot use seed: expected 32 bytes, got 31",
    );
    expect(() => new Verifier(new Uint8Array(33))).toThrow(RangeError);
    // Small-order points (the identity, y = 1) and non-canonical encodings are refused up front.
    expect(() => new Verifier(_fromHex(`01${"00".repeat(31)}`))).toThrow("not a valid ed25519 public key");
    expect(() => new Verifier(new Uint8Array(32).fill(0xff))).toThrow("not a valid ed25519 public key");
    const verifier = new Verifier(_fromHex(RFC8032[0]!.publicKey));
    await expect(verifier.verify(new Uint8Array(63), new Uint8Array(0))).rejects.toThrow(RangeError);
  });
});
