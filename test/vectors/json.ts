// JSON form of frames for the known-answer vectors: bytes as { "$hex": "…" }, everything else as
// itself. stableStringify sorts object keys, so two descriptions of the same frame print the same.

import { _fromHex, _toHex } from "../../schema/protocol/_bytes.ts";
import type { Frame, StreamFrame } from "../../schema/protocol/index.ts";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function toJson(value: unknown): Json {
  if (value instanceof Uint8Array) return { $hex: _toHex(value) };
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value as Json;
}

function fromJson(json: Json): unknown {
  if (Array.isArray(json)) return json.map(fromJson);
  if (json !== null && typeof json === "object") {
    if (typeof json.$hex === "string") return _fromHex(json.$hex);
    return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, fromJson(v)]));
  }
  return json;
}

export function frameFromJson(json: Json): Frame {
  return fromJson(json) as Frame;
}

export function stableStringify(json: Json): string {
  if (Array.isArray(json)) return `[${json.map(stableStringify).join(",")}]`;
  if (json !== null && typeof json === "object") {
    const keys = Object.keys(json).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(json[k]!)}`).join(",")}}`;
  }
  return JSON.stringify(json);
}

export function streamFrameFromJson(json: Json): StreamFrame {
  return fromJson(json) as StreamFrame;
}
