// tap.ts's pure parts: names, MACs, address allocation and what the guest is told (the bridge
// itself is exercised end to end by test/vm-tap.test.ts).
import { describe, expect, it } from "vitest";
import { networkConfig } from "./disks.ts";
import { allocateAddress, guestMac, kernelIpArg, netmask, tapName } from "./tap.ts";

const bridge = { name: "br0", address: "10.213.7.1", prefix: 24 };

describe("tap", () => {
  it("names a TAP op + 12 hex digits, never more than IFNAMSIZ allows, whatever the VM's name", () => {
    for (const vm of ["a", "web", "x".repeat(63), "--help", "../../etc"]) {
      expect(tapName(vm)).toMatch(/^op[0-9a-f]{12}$/);
    }
    expect(tapName("web")).toBe(tapName("web"));
    expect(tapName("web")).not.toBe(tapName("web2"));
  });

  it("derives a stable, locally administered unicast MAC from the VM's id", () => {
    expect(guestMac("vm_1")).toBe(guestMac("vm_1"));
    expect(guestMac("vm_1")).not.toBe(guestMac("vm_2"));
    expect(guestMac("vm_1")).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  });

  it("allocates the first free host address, never the network, the bridge's own or the broadcast", () => {
    expect(allocateAddress(bridge, new Set())).toBe("10.213.7.2");
    expect(allocateAddress({ ...bridge, address: "10.213.7.2" }, new Set())).toBe("10.213.7.1");
    expect(allocateAddress(bridge, new Set(["10.213.7.2", "10.213.7.3"]))).toBe("10.213.7.4");
    const slash30 = { name: "br0", address: "192.168.5.9", prefix: 30 };
    expect(allocateAddress(slash30, new Set())).toBe("192.168.5.10");
    expect(() => allocateAddress(slash30, new Set(["192.168.5.10"]))).toThrow(
      /no address is left in br0's \/30/,
    );
  });

  it("tells the guest its address on the kernel command line and in NoCloud network-config", () => {
    const tap = {
      ifname: "op0",
      mac: "52:54:00:aa:bb:cc",
      address: "10.213.7.2",
      prefix: 24,
      gateway: "10.213.7.1",
    };
    expect(netmask(24)).toBe("255.255.255.0");
    expect(netmask(20)).toBe("255.255.240.0");
    expect(kernelIpArg(tap)).toBe("ip=10.213.7.2::10.213.7.1:255.255.255.0::eth0:off");
    const config = networkConfig(tap);
    expect(config).toContain('macaddress: "52:54:00:aa:bb:cc"');
    expect(config).toContain('addresses: ["10.213.7.2/24"]');
    expect(config).toContain("gateway4: 10.213.7.1");
  });
});
