import { describe, expect, it } from "vitest";
import { clientAddress } from "./client-address.ts";

const of = (value?: string) =>
  clientAddress(new Headers(value === undefined ? {} : { "cf-connecting-ip": value }));

describe("clientAddress", () => {
  it("counts IPv4 addresses whole, IPv4-mapped IPv6 as IPv4", () => {
    expect(of("203.0.113.9")).toBe("203.0.113.9");
    expect(of("::ffff:203.0.113.9")).toBe("203.0.113.9");
  });

  it("counts an IPv6 client by its /64, however the address is spelled", () => {
    const net = "2001:db8:0:1::/64";
    expect(of("2001:db8:0:1::1")).toBe(net);
    expect(of("2001:0DB8:0000:0001:ffff:ffff:ffff:fffe")).toBe(net);
    expect(of("2001:db8::1:0:0:0:7")).toBe(net);
    expect(of("2001:db8:0:2::1")).not.toBe(net);
    expect(of("::1")).toBe("0:0:0:0::/64");
  });

  it("puts what is not an address in one bucket", () => {
    for (const junk of [undefined, "", "localhost", "1:2:3", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9"]) {
      expect(of(junk)).toBe("unknown");
    }
  });
});
