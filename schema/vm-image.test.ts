import { describe, expect, it } from "vitest";
import { parseVmImageManifest, VM_IMAGE_FORMAT } from "./vm-image.ts";

const ok = { format: VM_IMAGE_FORMAT, files: { kernel: { size: 3 } }, cmdline: "console=ttyS0" };

describe("parseVmImageManifest", () => {
  it("takes a manifest naming a kernel", () => {
    expect(parseVmImageManifest(JSON.stringify(ok))).toEqual(ok);
  });

  it.each([
    ["not JSON", "{", /not JSON/],
    ["another format", JSON.stringify({ ...ok, format: "x" }), /is not outpost-vm-image\/1/],
    ["no kernel", JSON.stringify({ ...ok, files: { rootfs: { size: 1 } } }), /names no kernel/],
    [
      "a path of its own",
      JSON.stringify({ ...ok, files: { kernel: { size: 1 }, "../../etc/passwd": { size: 1 } } }),
      /unknown file '..\/..\/etc\/passwd'/,
    ],
    ["a bad size", JSON.stringify({ ...ok, files: { kernel: { size: -1 } } }), /kernel has no valid size/],
    ["a control character", JSON.stringify({ ...ok, cmdline: "a\u001b]52;b" }), /cmdline must be text/],
    ["a rootfs format qemu-img would guess", JSON.stringify({ ...ok, rootfsFormat: "vmdk" }), /raw or qcow2/],
  ])("refuses %s", (_, text, message) => {
    expect(() => parseVmImageManifest(text)).toThrow(message);
  });
});
