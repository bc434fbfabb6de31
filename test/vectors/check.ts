// Checks an implementation against the known-answer vectors in frames.json; returns what failed.
// Runtime-neutral, so the same check runs in Node (vitest), Bun and Deno (check-vectors.ts).

import { _fromHex, _toHex } from "../../schema/protocol/_bytes.ts";
import {
  type ConnectionId,
  closeCodeFor,
  DataKey,
  deriveDataKeys,
  type Ed25519Backend,
  ed25519Backend,
  encodeFrame,
  formatControlPlaneKey,
  formatHostKey,
  keyIdOf,
  openFrame,
  ProtocolError,
  Signer,
  sealFrame,
  Verifier,
} from "../../schema/protocol/index.ts";
import type { VectorFile } from "./generate.ts";
import { frameFromJson, stableStringify, toJson } from "./json.ts";

/** Every vector, with the native backend (when the runtime has one) and with noble. */
export async function checkVectors(file: VectorFile): Promise<string[]> {
  const failures: string[] = [];
  const backends: Ed25519Backend[] = (await ed25519Backend()) === "webcrypto" ? ["webcrypto", "noble"] : ["noble"];
  const fail = (what: string) => failures.push(what);

  for (const key of file.keys) {
    const signer = await Signer.fromSeed(_fromHex(key.seedHex));
    if (_toHex(signer.publicKey) !== key.publicKeyHex) fail(`key ${key.name}: public key differs`);
    if (keyIdOf(signer.publicKey) !== key.keyId) fail(`key ${key.name}: key id differs`);
    const text = key.publicKey.startsWith("cpkey:") ? formatControlPlaneKey(signer.publicKey) : formatHostKey(signer.publicKey);
    if (text !== key.publicKey) fail(`key ${key.name}: text form differs`);
  }

  for (const backend of backends) {
    for (const v of file.valid) {
      const at = `valid "${v.name}" (${backend})`;
      try {
        const ctx = { connectionId: v.connectionId as ConnectionId, direction: v.direction };
        const signer = await Signer.fromSeed(_fromHex(v.seedHex), { backend });
        if (_toHex(signer.publicKey) !== v.publicKeyHex) fail(`${at}: public key differs`);
        if (signer.keyId !== v.keyId) fail(`${at}: key id differs`);
        const frame = frameFromJson(v.frame);
        if (_toHex(encodeFrame(frame, v.direction)) !== v.payloadHex) fail(`${at}: payload differs`);
        if (_toHex(await sealFrame(frame, signer, ctx)) !== v.messageHex) fail(`${at}: sealed message differs`);
        const opened = await openFrame(_fromHex(v.messageHex), new Verifier(_fromHex(v.publicKeyHex), { backend }), ctx);
        if (stableStringify(toJson(opened)) !== stableStringify(v.frame)) fail(`${at}: opened frame differs`);
        // Re-encoding what was decoded gives the same bytes (deterministic CBOR, deterministic Ed25519).
        if (_toHex(await sealFrame(opened, signer, ctx)) !== v.messageHex) fail(`${at}: re-sealed message differs`);
      } catch (error) {
        fail(`${at}: ${error}`);
      }
    }
    for (const v of file.invalid) {
      const at = `invalid "${v.name}" (${backend})`;
      const ctx = { connectionId: v.connectionId as ConnectionId, direction: v.direction };
      try {
        await openFrame(_fromHex(v.messageHex), new Verifier(_fromHex(v.publicKeyHex), { backend }), ctx);
        fail(`${at}: opened, expected ${v.error}`);
      } catch (error) {
        if (!(error instanceof ProtocolError)) fail(`${at}: threw ${error}, expected ProtocolError ${v.error}`);
        else if (error.code !== v.error) fail(`${at}: refused with ${error.code} (${error.message}), expected ${v.error}`);
        else if (closeCodeFor(error) !== v.closeCode) fail(`${at}: close code ${closeCodeFor(error)}, expected ${v.closeCode}`);
      }
    }
  }
  await _checkDataKeys(file, fail);
  return failures;
}

/** Capability 2: the data key derivation, and COSE_Mac0 frames sealed and refused under it. */
async function _checkDataKeys(file: VectorFile, fail: (what: string) => void): Promise<void> {
  const d = file.dataKeys;
  try {
    const raw = await deriveDataKeys(_fromHex(d.sharedHex), {
      connectionId: d.connectionId as ConnectionId,
      nonce: _fromHex(d.nonceHex),
      agentKx: _fromHex(d.agentKxHex),
      cpKx: _fromHex(d.cpKxHex),
    });
    for (const direction of ["agent>cp", "cp>agent"] as const) {
      if (_toHex(raw[direction]) !== d.keys[direction]) fail(`data key ${direction} differs`);
    }
    const key = { "agent>cp": await DataKey.fromBytes(raw["agent>cp"]), "cp>agent": await DataKey.fromBytes(raw["cp>agent"]) };
    const agentKey = file.keys.find((k) => k.name === "agent")!;
    const signer = await Signer.fromSeed(_fromHex(agentKey.seedHex));
    const verifier = new Verifier(_fromHex(agentKey.publicKeyHex));
    for (const v of d.valid) {
      const at = `data key vector "${v.name}"`;
      const ctx = { connectionId: d.connectionId as ConnectionId, direction: v.direction, dataKey: key[v.direction] };
      const frame = frameFromJson(v.frame);
      if (_toHex(encodeFrame(frame, v.direction)) !== v.payloadHex) fail(`${at}: payload differs`);
      if (_toHex(await sealFrame(frame, signer, ctx)) !== v.messageHex) fail(`${at}: sealed message differs`);
      const opened = await openFrame(_fromHex(v.messageHex), verifier, ctx);
      if (stableStringify(toJson(opened)) !== stableStringify(v.frame)) fail(`${at}: opened frame differs`);
    }
    for (const v of d.invalid) {
      const at = `invalid data key vector "${v.name}"`;
      const ctx = {
        connectionId: v.connectionId as ConnectionId,
        direction: v.direction,
        ...(v.noKey ? {} : { dataKey: key[v.direction] }),
      };
      try {
        await openFrame(_fromHex(v.messageHex), verifier, ctx);
        fail(`${at}: opened, expected ${v.error}`);
      } catch (error) {
        if (!(error instanceof ProtocolError)) fail(`${at}: threw ${error}, expected ProtocolError ${v.error}`);
        else if (error.code !== v.error) fail(`${at}: refused with ${error.code} (${error.message}), expected ${v.error}`);
        else if (closeCodeFor(error) !== v.closeCode) fail(`${at}: close code ${closeCodeFor(error)}, expected ${v.closeCode}`);
      }
    }
  } catch (error) {
    fail(`data key vectors: ${error}`);
  }
}
