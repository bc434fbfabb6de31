// IPv6 addresses that carry an IPv4 address in their last 32 bits. Each is a second spelling of an IPv4
// destination, so a filter that only looks at IPv4 can be walked around with them: ::ffff:127.0.0.1
// reaches loopback through a dual-stack socket.
//   mapped      ::ffff:0:0/96     RFC 4291 §2.5.5.2
//   translated  ::ffff:0:0:0/96   RFC 2765 §2.1 (SIIT)
//   compatible  ::/96             RFC 4291 §2.5.5.1 (deprecated), except :: and ::1
//   nat64       64:ff9b::/96      RFC 6052 §2.1 (the well-known prefix)

type EmbeddingForm = "mapped" | "translated" | "compatible" | "nat64";

export interface EmbeddedV4 {
  readonly form: EmbeddingForm;
  readonly v4: Uint8Array;
}

const zeros = (bytes: Uint8Array, from: number, to: number) => bytes.subarray(from, to).every((b) => b === 0);

/** The IPv4 address inside `ip` and how it is embedded, or undefined (always for 4-byte input). */
export function _embeddedV4(ip: Uint8Array): EmbeddedV4 | undefined {
  if (ip.length !== 16) return undefined;
  const v4 = ip.slice(12, 16);
  if (zeros(ip, 0, 10) && ip[10] === 0xff && ip[11] === 0xff) return { form: "mapped", v4 };
  if (zeros(ip, 0, 8) && ip[8] === 0xff && ip[9] === 0xff && zeros(ip, 10, 12)) {
    return { form: "translated", v4 };
  }
  if (zeros(ip, 0, 12)) {
    const value = ((v4[0]! << 24) | (v4[1]! << 16) | (v4[2]! << 8) | v4[3]!) >>> 0;
    return value > 1 ? { form: "compatible", v4 } : undefined;
  }
  if (ip[0] === 0 && ip[1] === 0x64 && ip[2] === 0xff && ip[3] === 0x9b && zeros(ip, 4, 12)) {
    return { form: "nat64", v4 };
  }
  return undefined;
}
