import { describe, expect, it } from "vitest";
import { ProtocolError } from "./errors.ts";
import { decodeFrame, encodeFrame } from "./frame-codec.ts";
import type { WorkloadsFrame } from "./frames.ts";
import { type AppRunSpec, MAX_USER_DATA, type VmRunSpec, type VmState, type Workload } from "./workloads.ts";

const shop: Workload<AppRunSpec> = {
  id: "wl_0123456789abcdef",
  tenant: "ten_0123456789abcdef",
  kind: "app",
  name: "shop",
  generation: 1,
  desired: "running",
  spec: {
    kind: "app",
    release: 1,
    cmd: ["bun", "server.js"],
    env: {},
    restart: "always",
    stopSignal: "SIGTERM",
    stopTimeout: 5000,
    keep: 5,
    revertWindow: 0,
  },
  artifact: { sha256: new Uint8Array(32), size: 1 },
  env: [],
  actions: [],
};

const frame = (workloads: Workload[]): WorkloadsFrame => ({ t: "workloads", seq: 1, workloads });

function refused(f: WorkloadsFrame): string {
  try {
    encodeFrame(f, "cp>agent");
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as Error).message;
  }
  throw new Error("expected the frame to be refused");
}

describe("workloads frame", () => {
  it("round-trips a desired set", () => {
    const bytes = encodeFrame(frame([shop, { ...shop, id: "wl_0123456789abcdeg", name: "api" }]), "cp>agent");
    expect(decodeFrame(bytes, "cp>agent")).toEqual(
      frame([shop, { ...shop, id: "wl_0123456789abcdeg", name: "api" }]),
    );
  });

  it("refuses two workloads of the same name, naming the field", () => {
    expect(refused(frame([shop, { ...shop, id: "wl_0123456789abcdeg" }]))).toMatch(
      /workloads\[1\]\.name repeats/,
    );
  });

  it("refuses a spec whose kind is not the workload's", () => {
    expect(refused(frame([{ ...shop, kind: "vm" }]))).toMatch(/spec\.kind must be the workload's kind, vm/);
  });

  it("refuses a command with U+0000 and a health path that is not a path", () => {
    expect(refused(frame([{ ...shop, spec: { ...shop.spec, cmd: ["bun\0x"] } }]))).toMatch(
      /cmd\[0\] must not contain U\+0000/,
    );
    const health = { http: "healthz", interval: 1000, timeout: 1000, grace: 0 };
    expect(refused(frame([{ ...shop, spec: { ...shop.spec, health } }]))).toMatch(
      /health\.http must be a path/,
    );
  });

  it("is only sent by the control plane; status only by the agent", () => {
    const bytes = encodeFrame(frame([]), "cp>agent");
    expect(() => decodeFrame(bytes, "agent>cp")).toThrow(ProtocolError);
    const status = encodeFrame(
      { t: "workload.status", seq: 1, id: shop.id, generation: 1, instances: [], actions: [] },
      "agent>cp",
    );
    expect(() => decodeFrame(status, "cp>agent")).toThrow(/may not be sent cp>agent/);
  });

  it("replaces control characters in an agent's own status text on send", () => {
    const bytes = encodeFrame(
      {
        t: "workload.status",
        seq: 1,
        id: shop.id,
        generation: 1,
        instances: [{ release: 1, state: "failed", restarts: 3, health: "boom\n\u001b[2J", since: 0 }],
        actions: [],
      },
      "agent>cp",
    );
    const back = decodeFrame(bytes, "agent>cp");
    expect(back.t === "workload.status" && back.instances[0]?.health).toBe("boom\uFFFD\uFFFD[2J");
  });
});

describe("vm workloads (cap 9)", () => {
  const web: Workload<VmRunSpec> = {
    ...shop,
    id: "wl_0123456789abcdeg",
    kind: "vm",
    name: "web",
    spec: {
      kind: "vm",
      image: "tiny",
      cmdline: "console=ttyS0",
      cpus: 1,
      memory: 256,
      disk: 0,
      ports: [8080],
      stopTimeout: 30_000,
    },
    actions: [{ id: "act_0123456789abcdef", op: "snapshot", arg: "s1" }],
  };

  it("round-trips beside an app", () => {
    const f = frame([
      shop,
      { ...web, spec: { ...web.spec, userData: new Uint8Array([1, 2]), driver: "qemu" } },
    ]);
    expect(decodeFrame(encodeFrame(f, "cp>agent"), "cp>agent")).toEqual(f);
  });

  it("refuses a driver nobody wrote, user data over the cap, and a snapshot name that is a path", () => {
    expect(
      refused(frame([{ ...web, spec: { ...web.spec, driver: "bhyve" as VmRunSpec["driver"] } }])),
    ).toMatch(/spec\.driver must be one of/);
    expect(
      refused(frame([{ ...web, spec: { ...web.spec, userData: new Uint8Array(MAX_USER_DATA + 1) } }])),
    ).toMatch(/userData/);
    expect(
      refused(frame([{ ...web, actions: [{ id: "act_0123456789abcdef", op: "restore", arg: "../x" }] }])),
    ).toMatch(/arg must be a snapshot name/);
  });

  it("refuses a status whose vm state no VM has", () => {
    expect(() =>
      encodeFrame(
        {
          t: "workload.status",
          seq: 1,
          id: web.id,
          generation: 1,
          instances: [],
          actions: [],
          vm: { state: "exploded" as VmState, ports: [], snapshots: [], since: 0 },
        },
        "agent>cp",
      ),
    ).toThrow(/vm\.state must be one of/);
  });
});
