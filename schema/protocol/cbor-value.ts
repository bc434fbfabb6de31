// The CBOR data model the protocol uses: a strict subset of RFC 8949. Integers are JavaScript safe
// integers; no floats, no undefined, no tags inside payloads, maps keyed by integers or text only.
// Decoded maps are `Map`s, never plain objects, so a key like "__proto__" is just a key.

export type CborKey = number | string;

export type CborValue = number | string | boolean | null | Uint8Array | CborArray | CborMap;

export interface CborArray extends ReadonlyArray<CborValue> {}

export interface CborMap extends ReadonlyMap<CborKey, CborValue> {}
