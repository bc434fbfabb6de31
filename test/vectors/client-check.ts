// Checks the client stream frames against client-frames.json; returns what failed. Runtime-neutral,
// like check.ts, so the same check runs in Node (vitest), workerd, Bun and Deno.

import { _fromHex, _toHex } from "../../schema/protocol/_bytes.ts";
import { closeCodeFor, encodeStreamFrame, ProtocolError } from "../../schema/protocol/index.ts";
import { type ClientVectorFile, decodeStreamFrame } from "./client-generate.ts";
import { stableStringify, streamFrameFromJson, toJson } from "./json.ts";

export function checkClientVectors(file: ClientVectorFile): string[] {
  const failures: string[] = [];
  const fail = (what: string) => failures.push(what);

  for (const v of file.valid) {
    const at = `client valid "${v.name}"`;
    try {
      if (_toHex(encodeStreamFrame(streamFrameFromJson(v.frame))) !== v.hex) fail(`${at}: encoding differs`);
      const decoded = decodeStreamFrame(v.sender, _fromHex(v.hex));
      if (stableStringify(toJson(decoded)) !== stableStringify(v.frame)) fail(`${at}: decoded frame differs`);
      if (_toHex(encodeStreamFrame(decoded)) !== v.hex) fail(`${at}: re-encoding differs`);
    } catch (error) {
      fail(`${at}: ${error}`);
    }
  }
  for (const v of file.normalized) {
    const at = `client normalized "${v.name}"`;
    try {
      const decoded = decodeStreamFrame(v.sender, _fromHex(v.hex));
      if (stableStringify(toJson(decoded)) !== stableStringify(v.frame)) fail(`${at}: decoded frame differs`);
    } catch (error) {
      fail(`${at}: ${error}`);
    }
  }
  for (const v of file.invalid) {
    const at = `client invalid "${v.name}"`;
    try {
      decodeStreamFrame(v.sender, _fromHex(v.hex));
      fail(`${at}: decoded, expected ${v.error}`);
    } catch (error) {
      if (!(error instanceof ProtocolError)) fail(`${at}: threw ${error}, expected ProtocolError ${v.error}`);
      else if (error.code !== v.error) fail(`${at}: refused with ${error.code} (${error.message}), expected ${v.error}`);
      else if (error.message !== v.message) fail(`${at}: refused for "${error.message}", expected "${v.message}"`);
      else if (closeCodeFor(error) !== v.closeCode) fail(`${at}: close code ${closeCodeFor(error)}, expected ${v.closeCode}`);
    }
  }
  return failures;
}
