// schema/secrets: known-answer vectors (test/vectors/secrets.json) current and passing in Node, Bun and
// Deno; random round trips; a ciphertext or sealed key moved to another tenant, app, name or version, or
// to another recipient, fails to open with an error naming the variable; the strict decoder of contract 4.

import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { openEnv } from "../agent/apps/secrets.ts";
import { decodeCbor, encodeCbor, formatHostKey, generateKeyPair } from "../schema/protocol/index.ts";
import {
  decodeSealedEnv,
  EnvOpenError,
  encodeSealedEnvEntry,
  envAssociatedData,
  hostRecipientKey,
  keeperPublicKeyBytes,
  keeperSecretKeyBytes,
  MAX_ENV_VALUE_BYTES,
  newKeeperKeyPair,
  openSealedEnv,
  parseKeeperPublicKey,
  type SealedEnvEntry,
  sealDataKey,
  sealEnvValue,
} from "../schema/secrets/index.ts";
import secrets from "./vectors/secrets.json" with { type: "json" };
import { checkSecretVectors } from "./vectors/secrets-check.ts";
import { generateSecretVectors, type SecretVectorFile } from "./vectors/secrets-generate.ts";

const file = secrets as unknown as SecretVectorFile;
const root = fileURLToPath(new URL("../", import.meta.url));
const run = promisify(execFile);
const TENANT = "ten_AAAAAAAAAAAAAAAAAAAAAA";

async function sealedFor(value: string, name = "TOKEN", version = 1, app = "shop") {
  const host = await generateKeyPair();
  const binding = { tenantId: TENANT, app, name, version };
  const { ciphertext, nonce, dataKey } = sealEnvValue(binding, value);
  const sealedKey = sealDataKey(
    dataKey,
    hostRecipientKey(formatHostKey(host.publicKey)),
    envAssociatedData(binding),
  );
  const entry: SealedEnvEntry = { name, version, ciphertext, nonce, sealedKey };
  return { host, entry };
}

describe("secret vectors (test/vectors/secrets.json)", () => {
  it("are what scripts/gen-vectors.ts writes", async () => {
    expect(JSON.parse(JSON.stringify(await generateSecretVectors()))).toEqual(file);
  });

  it("pass in Node", async () => {
    expect(await checkSecretVectors(file)).toEqual([]);
  });

  it("catch a changed vector, and an entry that opens where it must not", async () => {
    const broken = structuredClone(file);
    broken.valid[0]!.ciphertextHex = broken.valid[0]!.ciphertextHex.replace(/^./, (c) =>
      c === "0" ? "1" : "0",
    );
    broken.invalid[0]!.tenantId = broken.valid[0]!.tenantId; // no longer moved: it opens
    const failures = await checkSecretVectors(broken);
    expect(failures.some((f) => f.includes("ciphertext differs"))).toBe(true);
    expect(failures.some((f) => f.includes(`invalid "${broken.invalid[0]!.name}": opened`))).toBe(true);
  });

  for (const [runtime, args] of [
    ["bun", ["test/vectors/check-secrets.ts"]],
    ["deno", ["run", "test/vectors/check-secrets.ts"]],
  ] as const) {
    it(`pass in ${runtime}`, { timeout: 120_000 }, async () => {
      const { stdout } = await run(`${root}node_modules/.bin/${runtime}`, args, { cwd: root });
      expect(stdout).toContain(
        `ok: ${file.valid.length} valid and ${file.invalid.length} invalid secret vectors on ${runtime}`,
      );
    });
  }
});

describe("sealing and opening", () => {
  it("round-trips any value to the host it was sealed to (agent openEnv)", async () => {
    const host = await generateKeyPair();
    const hostX = hostRecipientKey(formatHostKey(host.publicKey));
    await fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 300 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (value, version) => {
          const binding = { tenantId: TENANT, app: "shop", name: "V", version };
          const { ciphertext, nonce, dataKey } = sealEnvValue(binding, value);
          const sealedKey = sealDataKey(dataKey, hostX, envAssociatedData(binding));
          const env = openEnv(
            { seed: host.seed },
            [{ name: "V", version, ciphertext, nonce, sealedKey }],
            binding,
          );
          expect(env.V).toBe(value);
        },
      ),
      { numRuns: 15 },
    );
  });

  it("refuses a value moved to another tenant, app, name or version, naming the variable", async () => {
    const { host, entry } = await sealedFor("s3cret");
    const scope = { tenantId: TENANT, app: "shop" };
    expect(openEnv({ seed: host.seed }, [entry], scope)).toEqual({ TOKEN: "s3cret" });
    const cases: [SealedEnvEntry, { tenantId: string; app: string }][] = [
      [entry, { tenantId: "ten_BBBBBBBBBBBBBBBBBBBBBB", app: "shop" }],
      [entry, { tenantId: TENANT, app: "billing" }],
      [{ ...entry, name: "OTHER" }, scope],
      [{ ...entry, version: 2 }, scope],
    ];
    for (const [moved, where] of cases) {
      const error = (() => {
        try {
          openEnv({ seed: host.seed }, [moved], where);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(EnvOpenError);
      expect((error as EnvOpenError).variable).toBe(moved.name);
      expect((error as Error).message).toMatch(new RegExp(`^Cannot open env ${moved.name} `));
    }
  });

  it("refuses another host's seal and tampered bytes, never printing the value", async () => {
    const { entry } = await sealedFor("s3cret");
    const other = await generateKeyPair();
    expect(() => openEnv({ seed: other.seed }, [entry], { tenantId: TENANT, app: "shop" })).toThrow(
      /Cannot open env TOKEN \(version 1\) of shop: its key is not sealed to this host/,
    );
    const { host, entry: good } = await sealedFor("s3cret");
    const tampered = { ...good, ciphertext: good.ciphertext.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    try {
      openEnv({ seed: host.seed }, [tampered], { tenantId: TENANT, app: "shop" });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toMatch(/ciphertext was moved or altered/);
      expect((error as Error).message).not.toContain("s3cret");
    }
  });

  it("seals to a keeper, whose key opens it too", () => {
    const keeper = newKeeperKeyPair();
    const binding = { tenantId: TENANT, app: "shop", name: "K", version: 3 };
    const { ciphertext, nonce, dataKey } = sealEnvValue(binding, "v");
    const sealedKey = sealDataKey(
      dataKey,
      keeperPublicKeyBytes(keeper.publicKey),
      envAssociatedData(binding),
    );
    const env = openSealedEnv(
      [{ name: "K", version: 3, ciphertext, nonce, sealedKey }],
      keeperSecretKeyBytes(keeper.secretKey),
      binding,
    );
    expect(env.K).toBe("v");
    expect(parseKeeperPublicKey(keeper.publicKey)).toBe(keeper.publicKey);
    expect(() => keeperSecretKeyBytes(`keepersecret:${"A".repeat(10)}`)).toThrow(
      /^Cannot parse keeper secret key: expected/,
    );
  });

  it("refuses a value over the limit before encrypting", () => {
    const binding = { tenantId: TENANT, app: "shop", name: "BIG", version: 1 };
    expect(() => sealEnvValue(binding, "x".repeat(MAX_ENV_VALUE_BYTES + 1))).toThrow(
      /Cannot seal env BIG: its value is/,
    );
  });
});

describe("decodeSealedEnv (contract 4, strict)", () => {
  it("round-trips through CBOR", async () => {
    const { entry } = await sealedFor("x");
    const decoded = decodeSealedEnv(decodeCbor(encodeCbor([encodeSealedEnvEntry(entry)])));
    expect(decoded).toEqual([entry]);
  });

  it("refuses wrong shapes, naming the field", async () => {
    const { entry } = await sealedFor("x");
    const bad = (patch: (m: Map<string, unknown>) => void) => {
      const map = new Map(encodeSealedEnvEntry(entry)) as Map<string, unknown>;
      patch(map);
      return () => decodeSealedEnv(decodeCbor(encodeCbor([map as never])));
    };
    expect(bad((m) => m.set("extra", 1))).toThrow(/entry 0 has an unknown key "extra"/);
    expect(bad((m) => m.delete("nonce"))).toThrow(
      /entry 0\.nonce must be 24 bytes, got null|entry 0\.nonce must be 24 bytes/,
    );
    expect(bad((m) => m.set("sealedKey", new Uint8Array(79)))).toThrow(
      /entry 0\.sealedKey must be 80 bytes, got 79 bytes/,
    );
    expect(bad((m) => m.set("name", "BAD NAME\u001b"))).toThrow(/entry 0\.name: Cannot use env name/);
    expect(bad((m) => m.set("name", "PORT"))).toThrow(/the agent sets it itself/);
    expect(bad((m) => m.set("version", 0))).toThrow(/entry 0\.version must be an integer/);
    expect(() =>
      decodeSealedEnv(decodeCbor(encodeCbor([encodeSealedEnvEntry(entry), encodeSealedEnvEntry(entry)]))),
    ).toThrow(/TOKEN appears twice/);
    expect(() => decodeSealedEnv("nope")).toThrow(/expected an array/);
  });
});
