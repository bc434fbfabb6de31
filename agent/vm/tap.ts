// TAP networking on a bridge (`--vm-bridge br0`), as n-kudo does: each VM gets a TAP device that the
// agent (root) creates and enslaves to the bridge, a MAC derived from the VM's id, and an IPv4 address
// from the bridge's own subnet, allocated here and kept in the VM's state.json so it survives agent
// restarts and host reboots. The guest learns it from the kernel command line (`ip=`, read by the
// example image's init) and from the NoCloud seed's network-config (what cloud images read).
//
// Security: every `ip` call is an argv array; the bridge name is checked against the kernel's own
// interface-name rules (IFNAMSIZ 16, no `/`, whitespace or `:`), and a TAP name is `op` + 12 hex digits
// of the VM name's SHA-256, so nothing a tenant names reaches `ip` as an option or another device.
// Hand-written (no library): the parts are a few `ip` invocations and IPv4 arithmetic on one /N.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import process from "node:process";
import { AgentError } from "../errors.ts";
import type { Runtime } from "../runtime/index.ts";
import { runToEnd } from "../runtime/run-to-end.ts";
import { VmError } from "./driver.ts";

/** The bridge VMs attach to, and the IPv4 subnet its own address lies in. */
export interface Bridge {
  name: string;
  /** The bridge's own address: the guests' gateway. */
  address: string;
  prefix: number;
}

/** A VM's place on the bridge (VmConfig.tap). */
export interface TapConfig {
  ifname: string;
  mac: string;
  address: string;
  prefix: number;
  gateway: string;
}

/** Linux interface names: at most 15 bytes (IFNAMSIZ 16 with its NUL), none of `/`, `:` or space. */
const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

/**
 * Checks `--vm-bridge name` at agent start: refused (AgentError, exit 2) unless the agent is root and
 * `name` is an existing bridge with an IPv4 address, saying what to do.
 */
export async function openBridge(runtime: Runtime, name: string): Promise<Bridge> {
  const fix =
    "create it first (ip link add br0 type bridge; ip addr add 10.0.0.1/24 dev br0; ip link set br0 up)";
  if (!IFNAME.test(name)) {
    throw new AgentError(
      `--vm-bridge ${JSON.stringify(name).slice(0, 40)} is not an interface name`,
      "name an existing bridge (at most 15 of A-Z a-z 0-9 _ . -)",
      2,
    );
  }
  if (process.getuid?.() !== 0) {
    throw new AgentError(
      `--vm-bridge ${name} needs the agent to run as root (it creates TAP devices)`,
      "run the agent as root, or drop --vm-bridge to use user-mode networking",
      2,
    );
  }
  if (!existsSync(`/sys/class/net/${name}/bridge`)) {
    throw new AgentError(`--vm-bridge ${name}: there is no bridge ${name} on this host`, fix, 2);
  }
  const out = await _ip(runtime, ["-j", "-4", "addr", "show", "dev", name]).catch(() => "[]");
  const info = (JSON.parse(out || "[]") as { addr_info?: { local?: string; prefixlen?: number }[] }[])[0];
  const v4 = info?.addr_info?.find((a) => a.local && a.prefixlen !== undefined);
  if (!v4?.local || v4.prefixlen === undefined || v4.prefixlen > 30) {
    throw new AgentError(
      `--vm-bridge ${name} has no IPv4 subnet to give guests addresses from`,
      `give it one (ip addr add 10.0.0.1/24 dev ${name})`,
      2,
    );
  }
  return { name, address: v4.local, prefix: v4.prefixlen };
}

/** The TAP device of VM `vm`: `op` and 12 hex digits of its name's SHA-256 (14 characters). */
export function tapName(vm: string): string {
  return `op${createHash("sha256").update(vm).digest("hex").slice(0, 12)}`;
}

/** A stable, locally administered unicast MAC from the VM's id (52:54:00 is QEMU's own prefix). */
export function guestMac(id: string): string {
  const h = createHash("sha256").update(id).digest("hex");
  return `52:54:00:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
}

/** The first address of the bridge's subnet that is not the network, the broadcast, the bridge or `taken`. */
export function allocateAddress(bridge: Bridge, taken: ReadonlySet<string>): string {
  const size = 2 ** (32 - bridge.prefix);
  const network = (_toInt(bridge.address) & ~(size - 1)) >>> 0;
  for (let i = 1; i < size - 1; i++) {
    const address = _toText((network + i) >>> 0);
    if (address !== bridge.address && !taken.has(address)) return address;
  }
  throw new VmError(`no address is left in ${bridge.name}'s /${bridge.prefix} for another VM`);
}

/** `255.255.255.0` for 24. */
export function netmask(prefix: number): string {
  return _toText(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

/** The kernel's `ip=` parameter (Documentation/admin-guide/nfs/nfsroot.rst): static, on eth0. */
export function kernelIpArg(tap: TapConfig): string {
  return `ip=${tap.address}::${tap.gateway}:${netmask(tap.prefix)}::eth0:off`;
}

/** Creates the TAP (when absent) and puts it on the bridge, up. Returns whether it made it. */
export async function ensureTap(runtime: Runtime, ifname: string, bridge: string): Promise<boolean> {
  const made = !existsSync(`/sys/class/net/${ifname}`);
  if (made) await _ip(runtime, ["tuntap", "add", "dev", ifname, "mode", "tap"]);
  try {
    await _ip(runtime, ["link", "set", "dev", ifname, "master", bridge, "up"]);
  } catch (error) {
    if (made) await removeTap(runtime, ifname);
    throw error;
  }
  return made;
}

/** Deletes the TAP, if it is there. */
export async function removeTap(runtime: Runtime, ifname: string): Promise<void> {
  if (existsSync(`/sys/class/net/${ifname}`))
    await _ip(runtime, ["link", "del", "dev", ifname]).catch(() => {});
}

async function _ip(runtime: Runtime, args: string[]): Promise<string> {
  const { code, stdout, stderr } = await runToEnd(runtime, ["ip", ...args]);
  if (code !== 0)
    throw new VmError(`ip ${args.join(" ")} failed: ${stderr.trim().slice(0, 300) || `exit ${code}`}`);
  return stdout;
}

function _toInt(address: string): number {
  return address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

function _toText(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}
