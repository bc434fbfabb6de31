import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { _fromBase64Url, _fromHex, _toBase64Url, _toHex } from "./_bytes.ts";
import {
  formatControlPlaneKey,
  formatHostKey,
  formatSecretKey,
  isConnectionId,
  isHostId,
  keyIdBytes,
  keyIdOf,
  keyIdOfAsync,
  newConnectionId,
  newHostId,
  parseControlPlaneKey,
  parseHostId,
  parseHostKey,
  parseKeyId,
  parsePublicKey,
  publicKeyBytes,
  secretKeyBytes,
} from "./keys.ts";
import { Verifier } from "./verify.ts";

// RFC 8032 §7.1 TEST 1 public key.
const PUBLIC = _fromHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");

describe("base64url", () => {
  it("round-trips and has one text form per value", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const text = _toBase64Url(bytes);
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(_fromBase64Url(text)).toEqual(bytes);
      }),
    );
    expect(_fromBase64Url("AA==")).toBeUndefined(); // padding
    expect(_fromBase64Url("AB")).toBeUndefined(); // non-zero trailing bits: "AA" is the one form of 0x00
    expect(_fromBase64Url("A")).toBeUndefined();
    expect(_fromBase64Url("a+b/")).toBeUndefined(); // standard alphabet
    expect(_toBase64Url(Uint8Array.of(0xfb, 0xff))).toBe("-_8");
  });
});

describe("keys and ids", () => {
  it("derives the key id as the first 16 bytes of sha256(public key)", () => {
    // sha256(d75a…511a) = 21fe31df…; echo -n d75a… | xxd -r -p | sha256sum
    const kid = keyIdOf(PUBLIC);
    expect(kid).toMatch(/^kid_[A-Za-z0-9_-]{22}$/);
    expect(_toHex(keyIdBytes(kid))).toBe(
      "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9".slice(0, 32),
    );
    expect(keyIdOf(formatHostKey(PUBLIC))).toBe(kid);
    expect(parseKeyId(kid)).toBe(kid);
  });

  it("derives the same key id through WebCrypto (keyIdOfAsync, Verifier.create)", async () => {
    expect(await keyIdOfAsync(PUBLIC)).toBe(keyIdOf(PUBLIC));
    const other = _fromHex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
    expect(await keyIdOfAsync(other)).toBe(keyIdOf(other));
    expect((await Verifier.create(PUBLIC)).keyId).toBe(new Verifier(PUBLIC).keyId);
    await expect(Verifier.create(new Uint8Array(32))).rejects.toThrow(RangeError);
  });

  it("prints public keys with their role", () => {
    const host = formatHostKey(PUBLIC);
    const cp = formatControlPlaneKey(PUBLIC);
    expect(host).toBe("hostkey:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    expect(cp).toBe("cpkey:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    expect(parsePublicKey(host)).toBe(host);
    expect(parsePublicKey(cp)).toBe(cp);
    expect(publicKeyBytes(host)).toEqual(PUBLIC);
    expect(publicKeyBytes(cp)).toEqual(PUBLIC);
    expect(() => parseHostKey(cp)).toThrow('Cannot parse host key: "cpkey:11qY');
    expect(() => parseControlPlaneKey(host)).toThrow(/does not start with "cpkey:"/);
    expect(() => parsePublicKey("nodekey:abc")).toThrow(/starts with neither/);
    expect(() => parseHostKey("hostkey:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR")).toThrow(
      /32 bytes of base64url/,
    );
    expect(() => formatHostKey(new Uint8Array(31))).toThrow(RangeError);
    expect(() => formatHostKey("x" as unknown as Uint8Array)).toThrow(TypeError);
  });

  it("makes and checks host and connection ids", () => {
    const host = newHostId();
    const conn = newConnectionId();
    expect(host).toMatch(/^host_[A-Za-z0-9_-]{22}$/);
    expect(conn).toMatch(/^conn_[A-Za-z0-9_-]{22}$/);
    expect(isHostId(host)).toBe(true);
    expect(isHostId(conn)).toBe(false);
    expect(isConnectionId(conn)).toBe(true);
    expect(isHostId(42)).toBe(false);
    expect(() => parseHostId("host_short")).toThrow("Cannot parse host id");
  });

  it("never echoes a secret key in an error", () => {
    const seed = new Uint8Array(32).fill(7);
    const text = formatSecretKey(seed);
    expect(text.startsWith("privkey:")).toBe(true);
    expect(secretKeyBytes(text)).toEqual(seed);
    const broken = `${text}x`;
    expect(() => secretKeyBytes(broken)).toThrow(TypeError);
    try {
      secretKeyBytes(broken);
    } catch (error) {
      expect((error as Error).message).not.toContain(text.slice(8, 20));
    }
  });
});
