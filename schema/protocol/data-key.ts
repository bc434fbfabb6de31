// Per-connection data keys (capability 2). The bulk frames (DATA_FRAME_TYPES) are authenticated with
// HMAC-SHA256 under a key only this connection's two ends know, instead of an ed25519 signature each:
// measured on this project's machine, sealing a 256 KiB frame costs 1.2 ms (Node) to 1.7 ms (Bun) with
// ed25519 and 0.2 ms with HMAC, and the relay spends most of its CPU there (README, Performance).
//
// Agreement, inside the signed handshake (frames.ts):
//
//   hello {…, kx: agent's ephemeral X25519 public key}   signed by the host key
//   ready {…, kx: control plane's ephemeral X25519 key}  signed by the control plane key
//
//   shared = X25519(own ephemeral secret, peer's kx)                       RFC 7748 §6.1
//   key(direction) = HKDF-SHA256(ikm = shared, salt = challenge nonce,     RFC 5869
//                                info = CBOR [PROTOCOL_MAGIC, "data key", conn, direction,
//                                             agent kx, cp kx], 32 bytes)
//
// Security choices:
// - Each kx is covered by its sender's long-term signature, so nobody in the middle can swap one; the
//   ephemeral secrets never leave memory and are dropped after the exchange (forward secrecy for the
//   data keys). An all-zero shared secret (a small-order kx) is refused (RFC 7748 §6.1).
// - One key per direction: a frame reflected to its sender fails (the MAC input also names the
//   direction, envelope.ts). The info binds the connection id and both kx, so keys never repeat.
// - The keys authenticate; they do not encrypt. The control plane relays plaintext as it always did
//   (TLS protects the hops); what changes is only who can forge a data frame: the two ends of this
//   connection, as before, since the control plane could always sign anything it relays.
// - Sequence numbers are shared with the signed frames: replay and reordering are refused exactly as
//   before, whatever the envelope.
//
// Why HMAC-SHA256 and not AES-GMAC (measured 2026-11-22, per 256 KiB frame, one call at a time):
//
//                           HMAC-SHA256    AES-256-GCM, frame as AAD (GMAC)
//   workerd (WebCrypto)     160 µs         20 µs
//   Bun (node:crypto)       154 µs         15 µs
//   Deno (node:crypto)      171 µs         468 µs, and a second setAAD replaces the first (wrong tag)
//   Deno (WebCrypto)        216 µs         251 µs
//
// GMAC would save workerd and a Bun agent about 0.1 CPU-s each per 200 MiB and cost a Deno agent 0.2 s
// more, and its nonce must never repeat under a key (HMAC has no nonce to get wrong). Taking the MAC out
// altogether, as an experiment, moved scp through `outpost proxy` by about a tenth; three bare TCP
// relays with no MAC, framing or WebSocket at all reach only 0.5-0.65x of direct scp on this machine
// (README, Performance). So HMAC stays.

import { _bufferSource, _joinBytes } from "./_bytes.ts";
import { encodeCbor } from "./encode.ts";
import { ProtocolError } from "./errors.ts";
import { type Direction, PROTOCOL_MAGIC } from "./frames.ts";
import type { ConnectionId } from "./keys.ts";

/** Frames carried in COSE_Mac0 under the data key once one is agreed; every other frame stays signed. */
export const DATA_FRAME_TYPES: ReadonlySet<string> = new Set(["data", "stdin", "stdout", "stderr"]);

/** Bytes of an X25519 public key (`kx`), of a data key, and of its MAC tag. */
export const KX_BYTES = 32;
const DATA_KEY_BYTES = 32;
export const MAC_BYTES = 32;

/**
 * A synchronous HMAC-SHA256 a runtime may offer instead of WebCrypto's (DataKey.fromBytes). Same MAC;
 * only the cost differs. Measured per call on this project's machine: WebCrypto's HMAC is a hop to a
 * thread pool and back in Bun and Deno (66 / 68 µs for 1 KiB, 140 / 163 µs for 160 KiB, one at a time
 * as frames are opened), node:crypto's createHmac is not (2.2 / 12.8 µs and 95 / 105 µs). In workerd
 * WebCrypto runs in line (4 µs and 97 µs), so the HostDO keeps the default. It takes the message in
 * parts (their concatenation is MACed), so a frame being opened is never copied just to be checked.
 */
export type HmacSha256 = (key: Uint8Array, parts: readonly Uint8Array[]) => Uint8Array;

export interface DataKeyOptions {
  hmac?: HmacSha256;
}

const X25519 = { name: "X25519" } as const;
const HMAC = { name: "HMAC", hash: "SHA-256" } as const;

/** One direction's HMAC-SHA256 key, imported once (WebCrypto, in every runtime the protocol runs in). */
export class DataKey {
  readonly #key: CryptoKey;
  readonly #raw: Uint8Array;
  readonly #hmac: HmacSha256 | undefined;

  private constructor(key: CryptoKey, raw: Uint8Array, hmac: HmacSha256 | undefined) {
    this.#key = key;
    this.#raw = raw;
    this.#hmac = hmac;
  }

  /** The key for `raw` (32 bytes), e.g. as kept in a Durable Object's socket attachment. */
  static async fromBytes(raw: Uint8Array, options: DataKeyOptions = {}): Promise<DataKey> {
    if (!(raw instanceof Uint8Array) || raw.length !== DATA_KEY_BYTES) {
      throw new TypeError(`Cannot use data key: expected ${DATA_KEY_BYTES} bytes`);
    }
    const key = await crypto.subtle.importKey("raw", _bufferSource(raw), HMAC, false, ["sign", "verify"]);
    return new DataKey(key, raw.slice(), options.hmac);
  }

  /** The 32-byte HMAC-SHA256 tag of the concatenation of `parts`. */
  async mac(parts: readonly Uint8Array[]): Promise<Uint8Array> {
    if (this.#hmac !== undefined) return this.#hmac(this.#raw, parts);
    return new Uint8Array(await crypto.subtle.sign("HMAC", this.#key, _joined(parts)));
  }

  /** Whether `tag` is the tag of the concatenation of `parts`, compared in constant time. */
  async verify(tag: Uint8Array, parts: readonly Uint8Array[]): Promise<boolean> {
    if (tag.length !== MAC_BYTES) return false;
    if (this.#hmac === undefined) {
      return crypto.subtle.verify("HMAC", this.#key, _bufferSource(tag), _joined(parts));
    }
    // Security: every byte is compared whatever the first difference, so the time taken tells an
    // attacker nothing about how much of a forged tag was right.
    const expected = this.#hmac(this.#raw, parts);
    if (expected.length !== MAC_BYTES) return false;
    let diff = 0;
    for (let i = 0; i < MAC_BYTES; i++) diff |= expected[i]! ^ tag[i]!;
    return diff === 0;
  }
}

/** WebCrypto takes one buffer. */
function _joined(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  return _bufferSource(parts.length === 1 ? parts[0]! : _joinBytes(parts));
}

/** Both directions' raw keys of one connection. */
export type DataKeyBytes = Record<Direction, Uint8Array>;

export interface DataKeyContext {
  connectionId: ConnectionId;
  /** The challenge's nonce (HKDF salt). */
  nonce: Uint8Array;
  agentKx: Uint8Array;
  cpKx: Uint8Array;
}

/** One side's half of the exchange: an ephemeral X25519 key pair, used once. */
export class KeyExchange {
  readonly publicKey: Uint8Array;
  #secret: CryptoKey | undefined;

  private constructor(publicKey: Uint8Array, secret: CryptoKey) {
    this.publicKey = publicKey;
    this.#secret = secret;
  }

  static async start(): Promise<KeyExchange> {
    const pair = (await crypto.subtle.generateKey(X25519, false, ["deriveBits"])) as CryptoKeyPair;
    const publicKey = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
    return new KeyExchange(publicKey, pair.privateKey);
  }

  /** Both directions' keys, from the peer's kx; the ephemeral secret is forgotten. */
  async finish(peerKx: Uint8Array, ctx: DataKeyContext): Promise<DataKeyBytes> {
    const secret = this.#secret;
    if (secret === undefined) throw new TypeError("Cannot agree a data key: this exchange was used already");
    this.#secret = undefined;
    if (!(peerKx instanceof Uint8Array) || peerKx.length !== KX_BYTES) {
      throw new ProtocolError("malformed", `Cannot agree a data key: kx must be ${KX_BYTES} bytes`);
    }
    let shared: Uint8Array;
    try {
      const peer = await crypto.subtle.importKey("raw", _bufferSource(peerKx), X25519, false, []);
      shared = new Uint8Array(await crypto.subtle.deriveBits({ ...X25519, public: peer }, secret, 256));
    } catch {
      // Some runtimes refuse a small-order point themselves; the same answer either way.
      throw new ProtocolError("malformed", "Cannot agree a data key: the peer's kx is not usable");
    }
    return deriveDataKeys(shared, ctx);
  }
}

/** Both directions' keys from the X25519 shared secret (exported for the known-answer vectors). */
export async function deriveDataKeys(shared: Uint8Array, ctx: DataKeyContext): Promise<DataKeyBytes> {
  if (shared.every((b) => b === 0)) {
    throw new ProtocolError("malformed", "Cannot agree a data key: the peer's kx is a small-order point");
  }
  const ikm = await crypto.subtle.importKey("raw", _bufferSource(shared), "HKDF", false, ["deriveBits"]);
  const derive = async (direction: Direction) => {
    const info = encodeCbor([PROTOCOL_MAGIC, "data key", ctx.connectionId, direction, ctx.agentKx, ctx.cpKx]);
    const bits = await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: _bufferSource(ctx.nonce), info: _bufferSource(info) },
      ikm,
      DATA_KEY_BYTES * 8,
    );
    return new Uint8Array(bits);
  };
  return { "agent>cp": await derive("agent>cp"), "cp>agent": await derive("cp>agent") };
}
