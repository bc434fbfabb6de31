// The signed envelope around every frame: COSE_Sign1 (RFC 9052 §4.2) with EdDSA (alg -8, RFC 9053 §2.2).
//
//   COSE_Sign1_Tagged = #6.18([
//     protected:   bstr .cbor { 1: -8 },      ; alg: EdDSA, and nothing else (exactly h'a10127')
//     unprotected: { 4: bstr .size 16 },      ; kid: key id of the signer (keys.ts)
//     payload:     bstr .cbor frame,          ; frames.ts; never nil (no detached payloads)
//     signature:   bstr .size 64 ])
//
// The signature is over the Sig_structure (RFC 9052 §4.4):
//
//   [ "Signature1", protected, external_aad, payload ]
//   external_aad = bstr .cbor [ PROTOCOL_MAGIC, connection id, direction ]
//
// The external AAD is never sent; both sides know it. It binds each frame to one connection and one
// direction, so a captured frame fails verification on another connection or reflected back to its
// sender, and to this protocol (PROTOCOL_MAGIC), so no other signature by the same key verifies here.
//
// Choices, each so that a message has exactly one valid encoding:
// - The tag (18) is always sent and required. It costs one byte and lets COSE tooling recognise the
//   message (RFC 9052 §2 leaves tagging to the application).
// - The protected header is byte-for-byte h'a10127'; any other header (crit, content type, …) is refused.
// - Everything is deterministic CBOR (decode.ts), so re-encoding a decoded message gives the same bytes.
//
// Data frames (capability 2, data-key.ts): once the handshake agreed a data key, the frames in
// DATA_FRAME_TYPES travel in COSE_Mac0 (RFC 9052 §6.2) with HMAC 256/256 (alg 5, RFC 9053 §3.1) instead:
//
//   COSE_Mac0_Tagged = #6.17([
//     protected:   bstr .cbor { 1: 5 },       ; alg: HMAC-SHA256, full tag (exactly h'a10105')
//     unprotected: {},                        ; no kid: the key is this connection's, per direction
//     payload:     bstr .cbor frame,          ; a data / stdin / stdout / stderr frame, nothing else
//     tag:         bstr .size 32 ])
//
//   tag = HMAC-SHA256(data key of this direction, MAC_structure)
//   MAC_structure = [ "MAC0", protected, external_aad, payload ]   ; the same external_aad as above
//
// The envelope is fixed by the frame type: with a data key, a data frame in COSE_Sign1 and any other
// frame in COSE_Mac0 are refused (4400), as is COSE_Mac0 without a data key; a tag that does not verify
// closes with 4401. Sequence numbers run across both envelopes, so replay checks are unchanged.

import { _bufferSource, _concatBytes, _equalBytes, _typeName } from "./_bytes.ts";
import type { CborValue } from "./cbor-value.ts";
import { DATA_FRAME_TYPES, type DataKey, MAC_BYTES } from "./data-key.ts";
import { decodeCbor } from "./decode.ts";
import { encodeCbor } from "./encode.ts";
import { ProtocolError } from "./errors.ts";
import { decodeFrame, encodeFrame } from "./frame-codec.ts";
import { DIRECTIONS, type Direction, type Frame, type FrameFrom, PROTOCOL_MAGIC } from "./frames.ts";
import {
  type ConnectionId,
  type KeyId,
  keyIdBytes,
  keyIdFromBytes,
  parseConnectionId,
  SIGNATURE_BYTES,
} from "./keys.ts";
import { MAX_CHUNK_BYTES, MAX_MESSAGE_BYTES } from "./limits.ts";
import type { SequenceWindow } from "./sequence.ts";
import type { Signer } from "./sign.ts";
import type { Verifier } from "./verify.ts";

/** COSE_Sign1_Tagged and COSE_Mac0_Tagged (RFC 9052 §2). */
export const COSE_SIGN1_TAG = 18;
export const COSE_MAC0_TAG = 17;
/** Header labels (RFC 9052 §3.1) and the EdDSA algorithm id (RFC 9053 §2.2). */
const HEADER_ALG = 1;
const HEADER_KID = 4;
const ALG_EDDSA = -8;
const ALG_HMAC_256 = 5;

/** h'a10127': the protected header { 1: -8 }. */
const PROTECTED = encodeCbor(new Map([[HEADER_ALG, ALG_EDDSA]]));
const TAG_HEAD = Uint8Array.of((6 << 5) | COSE_SIGN1_TAG);
/** h'a10105': the protected header { 1: 5 }. */
const PROTECTED_MAC = encodeCbor(new Map([[HEADER_ALG, ALG_HMAC_256]]));
const MAC0_HEAD = (6 << 5) | COSE_MAC0_TAG;

/** Which connection and direction a message belongs to; both go into every signature. */
export interface FrameContext<D extends Direction = Direction> {
  connectionId: ConnectionId;
  direction: D;
  /**
   * This direction's data key, once the handshake agreed one (data-key.ts): frames in
   * DATA_FRAME_TYPES are then sealed, and must arrive, in COSE_Mac0 under it.
   */
  dataKey?: DataKey;
}

export interface OpenContext<D extends Direction = Direction> extends FrameContext<D> {
  /**
   * When given, the frame's seq must be above the last one accepted, and becomes the last (only after
   * the signature verifies). Open a connection's messages one at a time, in arrival order: verifications
   * can finish out of order. FrameChannel (channel.ts) does both.
   */
  guard?: SequenceWindow;
}

/**
 * The keys a frame may be signed with: one pinned Verifier (the agent's view of the control plane, a
 * HostDO's view of its host), or a lookup by key id (during key rotation).
 */
export type VerifierLookup =
  | Verifier
  | ((kid: KeyId) => Verifier | undefined | Promise<Verifier | undefined>);

// ## Seal

/** The COSE_Sign1 message carrying `frame`, signed by `signer`, for `ctx`'s connection and direction. */
export async function sealFrame(frame: Frame, signer: Signer, ctx: FrameContext): Promise<Uint8Array> {
  _checkContext(ctx);
  if (ctx.dataKey !== undefined && DATA_FRAME_TYPES.has(frame.t))
    return _macDataFrame(frame, ctx.dataKey, ctx);
  return _sealPayload(encodeFrame(frame, ctx.direction), signer, ctx);
}

const NO_DATA = new Uint8Array(0);

/**
 * A data frame in COSE_Mac0, its bytes copied once, straight into the message. Deterministic CBOR sorts
 * `data` after every other key of these frames (the longest key sorts last, RFC 8949 §4.2.1), so the
 * payload is the frame encoded with empty data, less that empty byte string's head, then the real head
 * and the bytes.
 */
function _macDataFrame(frame: Frame, key: DataKey, ctx: FrameContext): Promise<Uint8Array> {
  const data = (frame as { data?: unknown }).data;
  if (!(data instanceof Uint8Array)) return _macPayload(encodeFrame(frame, ctx.direction), key, ctx); // refused there
  const head = encodeFrame({ ...frame, data: NO_DATA } as Frame, ctx.direction);
  if (head[head.length - 1] !== 0x40 || data.length > MAX_CHUNK_BYTES) {
    return _macPayload(encodeFrame(frame, ctx.direction), key, ctx); // not the expected layout: the slow way
  }
  return _macParts([head.subarray(0, head.length - 1), _bstrHead(data.length), data], key, ctx);
}

/**
 * COSE_Mac0 around any payload bytes (sealFrame's path for data frames; tests call it directly for
 * vectors with broken payloads). One buffer holds both byte strings the MAC and the message need: the
 * MAC_structure is written and MACed first, then its head is overwritten with the shorter envelope head,
 * so the payload is copied once here instead of into two separate encodings and a final concatenation.
 */
export function _macPayload(payload: Uint8Array, key: DataKey, ctx: FrameContext): Promise<Uint8Array> {
  return _macParts([payload], key, ctx);
}

/** COSE_Mac0 around the payload that is the concatenation of `parts`. */
async function _macParts(parts: Uint8Array[], key: DataKey, ctx: FrameContext): Promise<Uint8Array> {
  let length = 0;
  for (const part of parts) length += part.length;
  const payloadHead = _bstrHead(length);
  // MAC_structure = [ "MAC0", protected, external_aad, payload ], up to and including payload's head.
  const prefix = _macPrefix(ctx);
  const macHeadLength = prefix.length + payloadHead.length;
  const end = macHeadLength + length;
  const buffer = new Uint8Array(end + 2 + MAC_BYTES);
  buffer.set(prefix, 0);
  buffer.set(payloadHead, prefix.length);
  let at = macHeadLength;
  for (const part of parts) {
    buffer.set(part, at);
    at += part.length;
  }
  const tag = await key.mac([buffer.subarray(0, end)]);
  // COSE_Mac0_Tagged = #6.17([ protected, {}, payload, tag ]), up to and including payload's head.
  const start = prefix.length - MAC0_ENVELOPE_HEAD.length;
  buffer.set(MAC0_ENVELOPE_HEAD, start);
  buffer[end] = 0x58; // bstr, 1-byte length
  buffer[end + 1] = MAC_BYTES;
  buffer.set(tag, end + 2);
  const message = buffer.subarray(start);
  if (message.length > MAX_MESSAGE_BYTES) {
    throw new RangeError(
      `Cannot seal frame: message is ${message.length} bytes, over the ${MAX_MESSAGE_BYTES} byte limit`,
    );
  }
  return message;
}

/** COSE_Mac0_Tagged's bytes before the payload's head: tag 17, an array of 4, protected, {}. */
const MAC0_ENVELOPE_HEAD = _concatBytes(
  Uint8Array.of(MAC0_HEAD, 0x84),
  encodeCbor(PROTECTED_MAC), // protected is a byte string holding the header's encoding
  Uint8Array.of(0xa0),
);

/**
 * MAC_structure's bytes before the payload's head: [ "MAC0", protected, external_aad, … ]. The same for
 * every frame of a connection and direction, so it is encoded once per pair (a few live at a time).
 */
function _macPrefix(ctx: FrameContext): Uint8Array {
  const id = `${ctx.connectionId} ${ctx.direction}`;
  let prefix = _macPrefixes.get(id);
  if (prefix === undefined) {
    prefix = encodeCbor(["MAC0", PROTECTED_MAC, _aad(ctx)]);
    prefix[0] = 0x84; // an array of 4, not 3: the payload follows
    if (_macPrefixes.size >= MAC_PREFIX_CACHE) _macPrefixes.delete(_macPrefixes.keys().next().value!);
    _macPrefixes.set(id, prefix);
  }
  return prefix;
}

const MAC_PREFIX_CACHE = 64;
const _macPrefixes = new Map<string, Uint8Array>();

/** The CBOR head of a byte string of `length` bytes (major type 2, shortest form, RFC 8949 §3). */
function _bstrHead(length: number): Uint8Array {
  if (length < 24) return Uint8Array.of(0x40 | length);
  if (length < 0x100) return Uint8Array.of(0x58, length);
  if (length < 0x10000) return Uint8Array.of(0x59, length >> 8, length & 0xff);
  return Uint8Array.of(0x5a, length >>> 24, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
}

/**
 * Signs any payload bytes, checked or not. Only for building test vectors with broken payloads;
 * everything else goes through sealFrame.
 */
export async function _sealPayload(
  payload: Uint8Array,
  signer: Signer,
  ctx: FrameContext,
): Promise<Uint8Array> {
  const signature = await signer.sign(_sigStructure(payload, ctx));
  const kid = keyIdBytes(signer.keyId);
  const body = encodeCbor([PROTECTED, new Map([[HEADER_KID, kid]]), payload, signature]);
  const message = _concatBytes(TAG_HEAD, body);
  if (message.length > MAX_MESSAGE_BYTES) {
    throw new RangeError(
      `Cannot seal frame: message is ${message.length} bytes, over the ${MAX_MESSAGE_BYTES} byte limit`,
    );
  }
  return message;
}

// ## Open

/**
 * The frame in `message`, once it is shown to be well-formed, of a type that may travel in
 * `ctx.direction`, signed for `ctx`'s connection and direction by a key `keys` knows, and (with
 * `ctx.guard`) newer than the last. Throws ProtocolError otherwise; closeCodeFor(error) says how to
 * close the connection.
 */
export async function openFrame<D extends Direction>(
  message: Uint8Array | ArrayBuffer,
  keys: VerifierLookup,
  ctx: OpenContext<D>,
): Promise<FrameFrom<D>> {
  _checkContext(ctx);
  const bytes = _binary(message);
  if (bytes[0] === MAC0_HEAD) return _openMac0(bytes, ctx);
  const [protectedBytes, unprotected, payload, signature] = _decodeSign1(bytes);
  const kid = _kid(unprotected);
  // Security: the payload is decoded and checked before the signature. Both run on bytes that are not
  // authenticated yet, and the decoder is strict and bounded either way; checking the cheap things first
  // means a peer sending garbage cannot make us spend an ed25519 verification on each message.
  const frame = decodeFrame(payload, ctx.direction);
  if (ctx.dataKey !== undefined && DATA_FRAME_TYPES.has(frame.t)) {
    throw _malformed(`${frame.t} must travel in COSE_Mac0 once a data key is agreed`);
  }
  const verifier = typeof keys === "function" ? await keys(kid) : keys.keyId === kid ? keys : undefined;
  if (verifier === undefined || verifier.keyId !== kid) {
    throw new ProtocolError("unknown_key", `Cannot open frame: no key ${kid} on this connection`);
  }
  const ok = await verifier.verify(signature, _sigStructure(payload, ctx, protectedBytes));
  if (!ok) {
    throw new ProtocolError(
      "bad_signature",
      `Cannot open frame: signature by ${kid} does not verify for ${ctx.connectionId} ${ctx.direction}`,
    );
  }
  ctx.guard?.accept(frame.seq);
  return frame;
}

/** A COSE_Mac0 data frame under ctx.dataKey; see the top of this file for what is refused. */
async function _openMac0<D extends Direction>(bytes: Uint8Array, ctx: OpenContext<D>): Promise<FrameFrom<D>> {
  if (ctx.dataKey === undefined) {
    throw new ProtocolError("unexpected_frame", "Cannot open frame: COSE_Mac0 before a data key was agreed");
  }
  const value = decodeCbor(bytes, { tag: COSE_MAC0_TAG });
  if (!Array.isArray(value) || value.length !== 4) throw _malformed("COSE_Mac0 must be an array of 4 items");
  const [protectedBytes, unprotected, payload, tag] = value as CborValue[];
  if (!(protectedBytes instanceof Uint8Array) || !_equalBytes(protectedBytes, PROTECTED_MAC)) {
    throw _malformed("COSE_Mac0 protected header must be exactly { 1: 5 } (alg HMAC 256/256)");
  }
  if (!(unprotected instanceof Map) || unprotected.size !== 0) {
    throw _malformed("COSE_Mac0 unprotected header must be empty");
  }
  if (!(payload instanceof Uint8Array)) throw _malformed("COSE payload must be a byte string");
  if (!(tag instanceof Uint8Array) || tag.length !== MAC_BYTES) {
    throw _malformed(`COSE_Mac0 tag must be ${MAC_BYTES} bytes`);
  }
  const frame = decodeFrame(payload, ctx.direction);
  if (!DATA_FRAME_TYPES.has(frame.t)) throw _malformed(`${frame.t} may not travel in COSE_Mac0`);
  if (!(await ctx.dataKey.verify(tag, [_macPrefix(ctx), _bstrHead(payload.length), payload]))) {
    throw new ProtocolError(
      "bad_signature",
      `Cannot open frame: MAC does not verify for ${ctx.connectionId} ${ctx.direction}`,
    );
  }
  ctx.guard?.accept(frame.seq);
  return frame;
}

function _binary(message: unknown): Uint8Array {
  if (message instanceof Uint8Array) return message;
  if (message instanceof ArrayBuffer) return new Uint8Array(message);
  throw new ProtocolError(
    "malformed",
    `Cannot decode frame: expected a binary message, got ${_typeName(message)}`,
  );
}

function _decodeSign1(bytes: Uint8Array): [Uint8Array, CborValue, Uint8Array, Uint8Array] {
  const value = decodeCbor(bytes, { tag: COSE_SIGN1_TAG });
  if (!Array.isArray(value) || value.length !== 4) {
    throw _malformed("COSE_Sign1 must be an array of 4 items");
  }
  const [protectedBytes, unprotected, payload, signature] = value as CborValue[];
  if (!(protectedBytes instanceof Uint8Array) || !_equalBytes(protectedBytes, PROTECTED)) {
    throw _malformed("COSE protected header must be exactly { 1: -8 } (alg EdDSA)");
  }
  if (!(payload instanceof Uint8Array)) throw _malformed("COSE payload must be a byte string");
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) {
    throw _malformed(`COSE signature must be ${SIGNATURE_BYTES} bytes`);
  }
  return [protectedBytes, unprotected!, payload, signature];
}

function _kid(unprotected: CborValue): KeyId {
  if (!(unprotected instanceof Map) || unprotected.size !== 1) {
    throw _malformed("COSE unprotected header must be exactly { 4: kid }");
  }
  const kid = unprotected.get(HEADER_KID);
  if (!(kid instanceof Uint8Array) || kid.length !== 16) {
    throw _malformed("COSE unprotected header must be exactly { 4: kid }, kid of 16 bytes");
  }
  return keyIdFromBytes(kid);
}

function _malformed(why: string): ProtocolError {
  return new ProtocolError("malformed", `Cannot decode frame: ${why}`);
}

// ## Sig_structure

/** The bytes an ed25519 signature covers: Sig_structure with our external AAD (RFC 9052 §4.4). */
function _sigStructure(payload: Uint8Array, ctx: FrameContext, protectedBytes = PROTECTED): Uint8Array {
  const aad = encodeCbor([PROTOCOL_MAGIC, ctx.connectionId, ctx.direction]);
  return _bufferSource(encodeCbor(["Signature1", protectedBytes, aad, payload]));
}

/** external_aad: binds a frame to this protocol, its connection and its direction (never sent). */
function _aad(ctx: FrameContext): Uint8Array {
  return encodeCbor([PROTOCOL_MAGIC, ctx.connectionId, ctx.direction]);
}

function _checkContext(ctx: FrameContext): void {
  if (ctx === null || typeof ctx !== "object")
    throw new TypeError("Cannot use frame context: expected an object");
  if (!DIRECTIONS.includes(ctx.direction)) {
    throw new TypeError(
      `Cannot use frame context: direction must be "cp>agent" or "agent>cp", got ${JSON.stringify(ctx.direction)}`,
    );
  }
  parseConnectionId(ctx.connectionId);
}
