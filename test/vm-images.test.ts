// VM images (`outpost vm image push|ls|rm`) against a real control plane (workerd, Miniflare's R2,
// libSQL) with the real CLI: the files packed under fixed names with a manifest, uploaded once, named
// per tenant; viewers may only look; another tenant sees nothing and cannot name a's artifact.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unpackTar } from "modern-tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listArtifacts, type Outpost, packArtifact } from "../sdk/index.ts";
import { stageVmImage } from "../sdk/vm/pack-image.ts";
import { makeTree } from "./harness/artifacts.ts";
import { runCli } from "./harness/cli.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let a: { id: string; token: string; client: Outpost };
let b: { id: string; token: string; client: Outpost };
let dir: string;
const cli = (token: string, ...args: string[]) =>
  runCli(["vm", "image", ...args], { OUTPOST_URL: stack.url, OUTPOST_TOKEN: token });

beforeAll(async () => {
  stack = await startStack();
  a = await stack.tenantInProd("vmimg-a");
  b = await stack.tenantInProd("vmimg-b");
  dir = makeTree({
    vmlinuz: randomBytes(4096),
    "initrd.gz": randomBytes(2048),
    "disk.img": randomBytes(8192),
  });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

const files = () => [
  "--kernel",
  join(dir, "vmlinuz"),
  "--initrd",
  join(dir, "initrd.gz"),
  "--rootfs",
  join(dir, "disk.img"),
];

describe("outpost vm image", () => {
  let sha256: string;

  it("pushes the files as one artifact with a manifest, and a second push uploads nothing", async () => {
    const first = await cli(
      a.token,
      "push",
      "tiny",
      ...files(),
      "--cmdline",
      "console=ttyS0 quiet",
      "--json",
    );
    expect(first.code, first.stderr).toBe(0);
    const pushed = JSON.parse(first.stdout);
    sha256 = pushed.upload.sha256;
    expect(pushed.upload.existed).toBe(false);
    expect(pushed.image).toMatchObject({ name: "tiny", sha256, cmdline: "console=ttyS0 quiet" });

    // What was uploaded is what stageVmImage packs: fixed names, whatever the files were called.
    const staged = await stageVmImage({
      kernel: join(dir, "vmlinuz"),
      initrd: join(dir, "initrd.gz"),
      rootfs: join(dir, "disk.img"),
      cmdline: "console=ttyS0 quiet",
    });
    const packed = await packArtifact(staged.dir);
    expect(packed.sha256).toBe(sha256);
    const tar = new Blob([readFileSync(packed.path)]).stream().pipeThrough(new DecompressionStream("gzip"));
    const entries = await unpackTar(tar);
    expect(entries.map((e) => e.header.name)).toEqual(["initrd", "kernel", "manifest.json", "rootfs"]);
    const manifest = JSON.parse(new TextDecoder().decode(entries[2]!.data));
    expect(manifest).toEqual({
      format: "outpost-vm-image/1",
      files: { kernel: { size: 4096 }, initrd: { size: 2048 }, rootfs: { size: 8192 } },
      rootfsFormat: "raw",
      cmdline: "console=ttyS0 quiet",
    });
    await packed.cleanup();
    await staged.cleanup();

    const again = await cli(a.token, "push", "tiny", ...files(), "--cmdline", "console=ttyS0 quiet");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("stored already, nothing uploaded");
  });

  it("lists images with who pushed them by key name, {items} with --json", async () => {
    const listed = await cli(a.token, "ls", "--json");
    expect(listed.code, listed.stderr).toBe(0);
    const { items } = JSON.parse(listed.stdout);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ name: "tiny", sha256, cmdline: "console=ttyS0 quiet" });
    expect(items[0].by.kind).toBe("key");
    expect(items[0].by.name).not.toMatch(/^key_/);
    expect(new Date(items[0].createdAt).toISOString()).toBe(items[0].createdAt);
    const table = await cli(a.token, "ls");
    expect(table.stdout).toMatch(/^NAME\s+SHA256/);
    expect(table.stdout).toContain(`tiny  ${sha256.slice(0, 16)}`);
  });

  it("re-points a name pushed again and says what it was", async () => {
    writeFileSync(join(dir, "vmlinuz2"), randomBytes(100));
    const res = await cli(a.token, "push", "tiny2", "--kernel", join(dir, "vmlinuz2"));
    expect(res.code, res.stderr).toBe(0);
    const again = await cli(a.token, "push", "tiny2", ...files(), "--cmdline", "console=ttyS0 quiet");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/it was sha256:[0-9a-f]{12} before/);
  });

  it("refuses usage errors with exit 2 and bad input with exit 1, storing nothing", async () => {
    expect((await cli(a.token, "push", "x")).code).toBe(2);
    expect((await cli(a.token, "push", "--kernel", join(dir, "vmlinuz"))).code).toBe(2);
    expect((await cli(a.token, "frobnicate")).code).toBe(2);
    const missing = await cli(a.token, "push", "x", "--kernel", join(dir, "nope"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("not a file");
    const badName = await cli(a.token, "push", "../../etc", "--kernel", join(dir, "vmlinuz"));
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain("image name '../../etc' must be");
    const badLine = await raw(stack, "PUT", "/v1/vm-images/x", {
      token: a.token,
      body: { sha256, cmdline: "quiet\u001b]52;c;AAAA\u0007" },
    });
    expect(badLine.status).toBe(400);
    expect(badLine.body.error?.message).toContain("control characters");
    const unknown = await raw(stack, "PUT", "/v1/vm-images/x", {
      token: a.token,
      body: { sha256: "0".repeat(64), cmdline: "" },
    });
    expect(unknown.status).toBe(404);
    const names = JSON.parse((await cli(a.token, "ls", "--json")).stdout).items.map(
      (i: { name: string }) => i.name,
    );
    expect(names).toEqual(["tiny", "tiny2"]);
  });

  it("lets viewers list but not push or remove", async () => {
    const viewer = await a.client.keys.create({ role: "viewer" });
    expect((await raw(stack, "GET", "/v1/vm-images", { token: viewer.token })).status).toBe(200);
    const put = await raw(stack, "PUT", "/v1/vm-images/v", {
      token: viewer.token,
      body: { sha256, cmdline: "" },
    });
    expect(put.status).toBe(403);
    expect((await cli(viewer.token, "rm", "tiny")).code).toBe(1);
    expect((await raw(stack, "GET", "/v1/vm-images/tiny", { token: a.token })).status).toBe(200);
  });

  it("shows another tenant nothing: 404 on a's image, and a's artifact cannot be named", async () => {
    expect(JSON.parse((await cli(b.token, "ls", "--json")).stdout)).toEqual({ items: [] });
    expect((await raw(stack, "GET", "/v1/vm-images/tiny", { token: b.token })).status).toBe(404);
    const rm = await cli(b.token, "rm", "tiny");
    expect(rm.code).toBe(1);
    expect(rm.stderr).toContain("not found");
    const stolen = await raw(stack, "PUT", "/v1/vm-images/stolen", {
      token: b.token,
      body: { sha256, cmdline: "" },
    });
    expect(stolen.status).toBe(404);
    expect((await raw(stack, "GET", "/v1/vm-images/tiny", { token: a.token })).status).toBe(200);
  });

  it("removes the name but keeps the artifact, and audits push and remove", async () => {
    const res = await cli(a.token, "rm", "tiny");
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain("VM image tiny removed");
    expect((await cli(a.token, "rm", "tiny")).code).toBe(1);
    const names = JSON.parse((await cli(a.token, "ls", "--json")).stdout).items.map(
      (i: { name: string }) => i.name,
    );
    expect(names).toEqual(["tiny2"]);
    expect((await listArtifacts(a.client)).items.map((i) => i.sha256)).toContain(sha256);
    const { events } = await a.client.audit({ limit: 200 });
    const allowed = (action: string) => events.filter((e) => e.action === action && e.outcome === "allowed");
    expect(allowed("vm.image.push").length).toBe(4);
    expect(allowed("vm.image.remove").length).toBe(1);
    expect(events.some((e) => e.action === "vm.image.push" && e.outcome === "denied")).toBe(true);
  });
});
