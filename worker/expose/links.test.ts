// Signed links: a link opens only its own exposure, only until it expires, only while its salt stands,
// and any change to it is refused. Runs the Worker's module under Node's WebCrypto.
import { describe, expect, it } from "vitest";
import type { Bindings } from "../env.ts";
import { MAX_LINK_TTL_S, signLink, verifyLink } from "./links.ts";

const env = {
  CP_SIGNING_KEY: Buffer.from(new Uint8Array(32).fill(9)).toString("base64url"),
} as unknown as Bindings;
const exposure = { id: "exp_0123456789abcdef", linkSalt: "salt0000salt0000" };
const now = () => Math.floor(Date.now() / 1000);

describe("links", () => {
  it("verifies a fresh link and says how long it has left", async () => {
    const token = await signLink(env, exposure, now() + 600);
    const left = await verifyLink(env, exposure, token);
    expect(left).toBeGreaterThan(595);
    expect(left).toBeLessThanOrEqual(600);
  });

  it("refuses expired links, and expiries beyond the longest lifetime", async () => {
    expect(await verifyLink(env, exposure, await signLink(env, exposure, now() - 1))).toBeNull();
    expect(
      await verifyLink(env, exposure, await signLink(env, exposure, now() + MAX_LINK_TTL_S + 60)),
    ).toBeNull();
  });

  it("refuses a link to another exposure, after its salt changed, or under another control plane key", async () => {
    const token = await signLink(env, exposure, now() + 600);
    expect(await verifyLink(env, { ...exposure, id: "exp_other0000000000" }, token)).toBeNull();
    expect(await verifyLink(env, { ...exposure, linkSalt: "new0salt0000new0" }, token)).toBeNull();
    const otherEnv = { CP_SIGNING_KEY: Buffer.from(new Uint8Array(32).fill(1)).toString("base64url") };
    expect(await verifyLink(otherEnv as unknown as Bindings, exposure, token)).toBeNull();
  });

  it("refuses any tampering: a later expiry, a changed MAC, junk", async () => {
    const expires = now() + 600;
    const token = await signLink(env, exposure, expires);
    const [, mac] = token.split(".");
    expect(await verifyLink(env, exposure, `${expires + 3600}.${mac}`)).toBeNull();
    const flipped = mac!.replace(/^./, (c) => (c === "A" ? "B" : "A"));
    expect(await verifyLink(env, exposure, `${expires}.${flipped}`)).toBeNull();
    // The same MAC spelled with the last character's unused bits set is not accepted either.
    const last = mac!.at(-1)!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(await verifyLink(env, exposure, `${expires}.${mac!.slice(0, -1)}${sibling}`)).toBeNull();
    for (const junk of [
      "",
      ".",
      `${expires}.`,
      `${expires}`,
      `x.${mac}`,
      `${expires}.${mac}=`,
      `${token}.x`,
    ]) {
      expect(await verifyLink(env, exposure, junk), junk).toBeNull();
    }
  });
});
