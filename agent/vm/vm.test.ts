// A VM's directory is `<state>/vms/<name>`, and a name that could lead anywhere else is refused before
// any path is made of it (the wire codec refuses them first; this is the agent's own check).
import { describe, expect, it } from "vitest";
import { vmDir } from "./vm.ts";

describe("vmDir", () => {
  it("puts a VM in its own directory under vms/", () => {
    expect(vmDir("/var/lib/outpost/vms", "web")).toBe("/var/lib/outpost/vms/web");
    expect(vmDir("/s/vms", "db.v2_x-1")).toBe("/s/vms/db.v2_x-1");
  });

  it("refuses names that are paths, hidden, empty or not service names", () => {
    for (const name of [
      "..",
      ".",
      "",
      "../x",
      "a/../../etc",
      "/etc",
      "a/b",
      ".hidden",
      "a..b",
      "Web",
      "a\0b",
      "a\nb",
    ]) {
      expect(() => vmDir("/s/vms", name), name).toThrow(RangeError);
    }
  });
});
