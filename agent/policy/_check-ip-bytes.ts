// Input check at the policy's boundary (noble style): a wrong shape from a caller is a bug in the
// agent, so it throws TypeError instead of turning into a decision. A file of its own, without
// imports, because the address formatters that types.ts reaches through parse-cidr.ts need it.

/** Throws unless `bytes` is a Uint8Array of 4 (IPv4) or 16 (IPv6) bytes. */
export function _checkIpBytes(bytes: unknown, doing: string): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array) || (bytes.length !== 4 && bytes.length !== 16)) {
    const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes;
    throw new TypeError(`Cannot ${doing}: expected a Uint8Array of 4 or 16 bytes, got ${got}`);
  }
}
