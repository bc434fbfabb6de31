// microVMs on a bridge (issue 14 item 5): the test makes its own Linux bridge with a private /24, runs
// a root Bun agent with --vm-bridge, and boots the example image under real QEMU (TCG) on a TAP the
// agent made. The VM's --port 8080 service then targets the guest's own bridge address, reached here
// through `outpost forward` on loopback; the guest reports the address it was given (kernel `ip=`).
// rm takes the TAP away; a bridge that does not exist, or an agent that is not root, is refused at start.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { alive } from "../agent/vm/process.ts";
import { tapName } from "../agent/vm/tap.ts";
import { buildVmImage } from "../scripts/vm-image/build.ts";
import { eventually, runAgent, startAgent, type TestAgent } from "./harness/agent.ts";
import { runCli } from "./harness/cli.ts";
import { type Running, start } from "./harness/process.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const CLI = fileURLToPath(new URL("../sdk/bin/outpost.js", import.meta.url));
const HOST = "taphost.prod";
// A bridge and subnet of this run's own: unique name (<= 15 chars), 10.213.<n>.0/24.
const n = 1 + (process.pid % 250);
const BRIDGE = `opbr${process.pid % 100000}`;
const GATEWAY = `10.213.${n}.1`;

let stack: Stack;
let env: Record<string, string>;
let agent: TestAgent | undefined;
let fwd: Running | undefined;
const cli = (...args: string[]) => runCli(["vm", ...args], env);
const ip = (...args: string[]) => execFileSync("ip", args, { encoding: "utf8" });

function get(port: number, path = "/"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

beforeAll(async () => {
  ip("link", "add", BRIDGE, "type", "bridge");
  ip("addr", "add", `${GATEWAY}/24`, "dev", BRIDGE);
  ip("link", "set", BRIDGE, "up");
  stack = await startStack();
  const t = await stack.tenantInProd("vmtap");
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: t.token };
  agent = await startAgent(t.client, {
    runtime: "bun",
    name: "taphost",
    cluster: "prod",
    site: "fra1",
    url: stack.url,
    runArgs: ["--vm-bridge", BRIDGE],
  });
  const image = buildVmImage(mkdtempSync(join(tmpdir(), "outpost-vm-image-")));
  // biome-ignore format: the push command as a user types it
  const push = await cli("image", "push", "tiny", "--kernel", image.kernel, "--initrd", image.initrd,
    "--rootfs", image.rootfs, "--cmdline", image.cmdline);
  expect(push.code, push.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await fwd?.stop();
  await agent?.stop();
  const file = join(agent?.stateDir ?? "", "vms/bridged/qemu.pid");
  const pid = existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : 0;
  if (pid > 0 && alive(pid)) process.kill(pid, "SIGKILL");
  if (existsSync(`/sys/class/net/${tapName("bridged")}`)) ip("link", "del", tapName("bridged"));
  ip("link", "del", BRIDGE);
  await stack?.close();
}, 60_000);

describe("a VM on the agent's --vm-bridge", () => {
  let address: string;

  it("gets a TAP on the bridge and an address from its subnet, shown by vm show", async () => {
    const res = await cli(
      "create",
      HOST,
      "bridged",
      "--image",
      "tiny",
      "--memory",
      "128M",
      "--port",
      "8080",
      "--json",
    );
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const { vm } = JSON.parse(res.stdout);
    expect(vm).toMatchObject({
      name: "bridged",
      state: "started",
      services: ["bridged-8080"],
      hostPorts: [],
    });
    address = vm.address;
    expect(address).toMatch(new RegExp(`^10\\.213\\.${n}\\.\\d+$`));
    expect(address).not.toBe(GATEWAY);
    const tap = tapName("bridged");
    expect(tap.length).toBeLessThanOrEqual(15);
    const link = JSON.parse(ip("-j", "link", "show", "dev", tap))[0];
    expect(link.master).toBe(BRIDGE);
    const cmdline = readFileSync(`/proc/${vm.pid}/cmdline`, "utf8");
    expect(cmdline).toContain(`tap,id=net0,ifname=${tap},script=no,downscript=no`);
    expect(cmdline).toContain(`ip=${address}::${GATEWAY}:255.255.255.0::eth0:off`);
    expect(cmdline).not.toContain("hostfwd");
    const human = await cli("show", "bridged");
    expect(human.stdout).toMatch(new RegExp(`address\\s+${address.replaceAll(".", "\\.")}`));
    const ls = JSON.parse((await cli("ls", "--json")).stdout);
    expect(JSON.stringify(ls)).toContain(`"address":"${address}"`);
  }, 150_000);

  it("serves its port at its bridge address, reached through outpost forward; the guest has that address", async () => {
    fwd = start(process.execPath, [CLI, "forward", `${HOST}:bridged-8080`, "--listen", "127.0.0.1:0"], {
      env: { ...process.env, ...env },
    });
    const out = await fwd.waitFor(/forwarding 127\.0\.0\.1:(\d+)/, 20_000);
    const port = Number(/forwarding 127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const seen = await eventually(
      async () => {
        const r = await get(port, "/address");
        if (r.status !== 200) throw new Error(`status ${r.status}`);
        return r.body.trim();
      },
      60_000,
      500,
    );
    expect(seen).toBe(`${address}/24`);
    expect((await get(port)).body).toContain("hello from bridged");
  }, 90_000);

  it("rm removes the TAP with the VM", async () => {
    await fwd?.stop();
    fwd = undefined;
    const res = await cli("rm", "bridged");
    expect(res.code, res.stderr + res.stdout).toBe(0);
    await eventually(
      async () => {
        if (existsSync(`/sys/class/net/${tapName("bridged")}`)) throw new Error("the TAP is still there");
      },
      30_000,
      500,
    );
  }, 60_000);
});

describe("--vm-bridge refusals", () => {
  it("refuses to start on a bridge that does not exist, saying so", async () => {
    const run = runAgent("bun", ["run", "--state-dir", agent!.stateDir, "--vm-bridge", "opnosuch0"]);
    const code = await run.exited;
    expect(code).toBe(2);
    expect(run.output()).toMatch(/--vm-bridge opnosuch0: there is no bridge opnosuch0 on this host/);
  }, 30_000);

  it("refuses to start when the agent is not root, and a bridge name that is not an interface name", () => {
    // Under /tmp itself: the run's own TMPDIR is 0700, so nobody could not even look for agent.toml.
    const dir = mkdtempSync("/tmp/outpost-tap-nonroot-");
    chmodSync(dir, 0o755);
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const bun = fileURLToPath(new URL("../node_modules/.bin/bun", import.meta.url));
    const agentJs = fileURLToPath(new URL("../dist/agent.js", import.meta.url));
    // biome-ignore format: the argv as typed
    const nobody = spawnSync("setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups",
      bun, agentJs, "run", "--state-dir", dir, "--vm-bridge", BRIDGE], { encoding: "utf8" });
    expect(nobody.status, nobody.stderr).toBe(2);
    expect(nobody.stderr).toContain(`--vm-bridge ${BRIDGE} needs the agent to run as root`);
    const bad = spawnSync(bun, [agentJs, "run", "--state-dir", dir, "--vm-bridge", "../x y"], {
      encoding: "utf8",
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--vm-bridge "../x y" is not an interface name');
  });
});
