// Hrana values ⇄ what the `libsql` package binds and returns (HRANA_3_SPEC.md §"Shared structures" ›
// Values). Integers are 64-bit exact: they are bound and read as BigInt (connections run with
// `defaultSafeIntegers`), and travel as decimal strings. A JS number is always a REAL, both ways.
import type { Value } from "./protocol.ts";

/**
 * The only kinds of value handed to the `libsql` package. Anything else (a boolean, an array, undefined)
 * makes its native binding panic and abort the whole process, so nothing else may reach it.
 */
export type BindValue = null | bigint | number | string | Buffer;

export function decodeValue(value: Value): BindValue {
  switch (value.type) {
    case "null":
      return null;
    case "integer":
      return BigInt(value.value);
    case "float":
      return value.value;
    case "text":
      return value.value;
    case "blob":
      return Buffer.from(value.base64, "base64");
  }
}

export function encodeValue(value: unknown): Value {
  if (value === null || value === undefined) return { type: "null" };
  if (typeof value === "bigint") return { type: "integer", value: value.toString() };
  if (typeof value === "number") return { type: "float", value };
  if (typeof value === "string") return { type: "text", value };
  if (value instanceof Uint8Array) {
    return {
      type: "blob",
      base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64"),
    };
  }
  if (value instanceof ArrayBuffer) return { type: "blob", base64: Buffer.from(value).toString("base64") };
  throw new TypeError(`Cannot encode a SQLite value of type ${typeof value} as a Hrana value`);
}
