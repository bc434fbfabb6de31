// microVMs against their baselines, in the same run (issue 14), with the example image (scripts/vm-image)
// under QEMU (TCG here):
//   - create → started, until the guest's marker is on its console: `outpost vm create` through the
//     control plane and a real Bun agent, against the very QEMU command line the agent ran, started by
//     hand in a fresh directory with the same image and a fresh overlay;
//   - agent memory per running VM: the agent's RSS with the VMs running minus with the first one (which
//     also fetched the image); as many VMs, up to 5, as the host's CPUs allow (the control plane refuses
//     more than it has);
//   - HTTP through `outpost forward` to a VM's port, against `outpost forward` to a host service (a
//     loopback HTTP server), sequential GETs, bounded in count and time.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { alive } from "../../agent/vm/process.ts";
import type { TestAgent } from "../../test/harness/agent.ts";
import { runCli } from "../../test/harness/cli.ts";
import { startHttpServer } from "../../test/harness/http-server.ts";
import { freePort, start } from "../../test/harness/process.ts";
import { buildVmImage } from "../vm-image/build.ts";
import { rssKb } from "./rss-bench.ts";
import { mib, ms, type Row } from "./table.ts";

const CLI = fileURLToPath(new URL("../../sdk/bin/outpost.js", import.meta.url));
const MARKER = "OUTPOST-VM-READY";
const GETS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(file: string, text: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (existsSync(file) && readFileSync(file, "utf8").includes(text)) return;
    await sleep(50);
  }
  throw new Error(`no ${text} in ${file} within ${timeoutMs} ms`);
}

function get(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", timeout: 10_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

/** Requests per second of at most GETS sequential GETs to `port`, for at most 60 s. */
async function rate(port: number, what: string): Promise<number> {
  for (let i = 0; i < 5; i++) await get(port); // warm up
  const t0 = performance.now();
  let n = 0;
  for (; n < GETS && performance.now() - t0 < 60_000; n++) {
    if ((await get(port)) !== 200) throw new Error(`GET ${what} failed`);
  }
  return n / ((performance.now() - t0) / 1000);
}

/** The same, through `outpost forward <target>`. */
async function forwardRate(env: Record<string, string>, target: string): Promise<number> {
  const proc = start(process.execPath, [CLI, "forward", target, "--listen", "127.0.0.1:0"], {
    env: { ...process.env, ...env },
  });
  try {
    const out = await proc.waitFor(/forwarding 127\.0\.0\.1:(\d+)/, 20_000);
    return await rate(Number(/forwarding 127\.0\.0\.1:(\d+)/.exec(out)![1]), `through ${target}`);
  } finally {
    await proc.stop();
  }
}

/** Kills every QEMU an agent's state dir recorded a pid for (the bench's VMs, after its agent stopped). */
export function killVms(stateDir: string): void {
  const vms = join(stateDir, "vms");
  for (const name of existsSync(vms) ? readdirSync(vms) : []) {
    const file = join(vms, name, "qemu.pid");
    const pid = existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : 0;
    if (pid > 0 && alive(pid) && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(join(vms, name)))
      process.kill(pid, "SIGKILL");
  }
}

/**
 * Runs the very command line the agent ran for the VM in `dir` (read from /proc), by hand, in a
 * directory of its own with a fresh overlay of the same base, until the marker; ms taken. Killed after.
 */
async function _byHand(dir: string): Promise<number> {
  const pid = Number(readFileSync(join(dir, "qemu.pid"), "utf8"));
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  const mine = mkdtempSync(join(tmpdir(), "outpost-bench-qemu-"));
  const info = execFileSync("qemu-img", ["info", "--output=json", "-U", join(dir, "disk.qcow2")], {
    encoding: "utf8",
  });
  const base = JSON.parse(info)["backing-filename"] as string;
  const port = await freePort();
  const hand = argv.map((a) =>
    a.replaceAll(dir, mine).replace(/hostfwd=tcp:127\.0\.0\.1:\d+-/, `hostfwd=tcp:127.0.0.1:${port}-`),
  );
  const t0 = performance.now();
  try {
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      "-F",
      "raw",
      "-b",
      base,
      join(mine, "disk.qcow2"),
    ]);
    await new Promise<void>((resolve, reject) => {
      const child = spawn(hand[0]!, hand.slice(1), { stdio: "ignore" });
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`QEMU by hand exited ${code}`))));
    });
    await until(join(mine, "console.log"), MARKER, 180_000);
    return performance.now() - t0;
  } finally {
    const file = join(mine, "qemu.pid");
    const handPid = existsSync(file) ? Number(readFileSync(file, "utf8")) : 0;
    if (handPid > 0 && alive(handPid)) process.kill(handPid, "SIGKILL");
  }
}

export async function vmBench(opts: { agent: TestAgent; env: Record<string, string> }): Promise<Row[]> {
  const { agent, env } = opts;
  const host = agent.ref;
  const image = buildVmImage(mkdtempSync(join(tmpdir(), "outpost-bench-vm-image-")));
  const cli = (...args: string[]) => runCli(["vm", ...args], env);
  // biome-ignore format: the push command as a user types it
  const pushed = await cli("image", "push", "tiny", "--kernel", image.kernel, "--initrd", image.initrd,
    "--rootfs", image.rootfs, "--cmdline", image.cmdline);
  if (pushed.code !== 0) throw new Error(`vm image push failed: ${pushed.stderr}`);
  const rows: Row[] = [];

  // create → marker, through Outpost (the first create also fetches the image: a second VM does not).
  // A first VM fetches the image (and loads the agent's tar and gzip path); it goes before the timing.
  const first = await cli("create", host, "warm", "--image", "tiny", "--memory", "128M", "--no-wait");
  if (first.code !== 0) throw new Error(`vm create failed: ${first.stderr}`);
  await until(join(agent.stateDir, "vms/warm/console.log"), MARKER, 180_000);
  if ((await cli("rm", "warm")).code !== 0) throw new Error("vm rm failed");

  // Two rounds, each Outpost's create then the same QEMU by hand, alone on the host; the faster of each.
  const dir = join(agent.stateDir, "vms/web");
  const times = { outpost: [] as number[], hand: [] as number[] };
  for (let round = 0; round < 2; round++) {
    const t0 = performance.now();
    // biome-ignore format: the create command as a user types it
    const made = await cli("create", host, "web", "--image", "tiny", "--memory", "128M", "--port", "8080", "--no-wait");
    if (made.code !== 0) throw new Error(`vm create failed: ${made.stderr}`);
    await until(join(dir, "console.log"), MARKER, 180_000);
    times.outpost.push(performance.now() - t0);
    times.hand.push(await _byHand(dir));
    if (round === 0 && (await cli("rm", "web")).code !== 0) throw new Error("vm rm failed");
  }
  const outpost = Math.min(...times.outpost);
  const byHand = Math.min(...times.hand);
  rows.push({
    what: "vm create → marker on the console (TCG, best of 2)",
    value: ms(outpost),
    baseline: `${ms(byHand)} (same QEMU by hand)`,
    ratio: `${(outpost / byHand).toFixed(2)}x`,
    target: "≤ 1.2x",
    met: outpost / byHand <= 1.2,
  });
  // The agent with one VM running (and the image fetched before).
  const oneVm = rssKb(agent.process.child.pid!);

  // Agent memory per running VM: as many as the host's CPUs allow, up to 5 (one runs already).
  const count = Math.max(2, Math.min(5, cpus().length));
  for (let i = 1; i < count; i++) {
    const res = await cli("create", host, `vm${i}`, "--image", "tiny", "--memory", "128M");
    if (res.code !== 0) {
      console.error(`bench: vm${i} not created: ${res.stderr.trim()}`);
      break;
    }
  }
  await sleep(2000);
  const listed = JSON.parse((await cli("ls", "--json")).stdout).items as { name: string; state: string }[];
  if (process.env.OUTPOST_BENCH_DEBUG)
    console.error(`bench: ${JSON.stringify(listed.map((v) => [v.name, v.state]))}`);
  const running = listed.filter((v) => v.state === "started").length;
  const perVm = (rssKb(agent.process.child.pid!) - oneVm) / Math.max(1, running - 1);
  rows.push({
    what: `agent RSS per running VM (${running} running: ${running - 1} beyond the first)`,
    value: mib(perVm),
    baseline: `${mib(oneVm)} agent with one VM`,
    ratio: "-",
    target: "≤ 2 MiB",
    met: perVm <= 2048,
  });

  // HTTP through forward: to the VM's port, and to a host service (a loopback HTTP server).
  const server = await startHttpServer("bench");
  try {
    const svc = await runCli(["service", "add", host, "bench-http", `127.0.0.1:${server.port}`], env);
    if (svc.code !== 0) throw new Error(`service add failed: ${svc.stderr}`);
    const toVm = await forwardRate(env, `${host}:web-8080`);
    const toHost = await forwardRate(env, `${host}:bench-http`);
    rows.push({
      what: "HTTP GETs through outpost forward to a VM port",
      value: `${toVm.toFixed(0)} req/s`,
      baseline: `${toHost.toFixed(0)} req/s (to a host service)`,
      ratio: `${(toVm / toHost).toFixed(2)}x`,
      target: "≥ 0.8x",
      met: toVm / toHost >= 0.8,
    });
    // Where the time goes: the guest's own HTTP server (busybox httpd, one process per connection,
    // under TCG), reached on its host loopback port without any relay.
    const shown = JSON.parse((await cli("show", "web", "--json")).stdout).vm;
    const direct = await rate(shown.hostPorts[0].host, "to the VM port on the host");
    rows.push({
      what: "HTTP GETs through outpost forward to a VM port",
      value: `${toVm.toFixed(0)} req/s`,
      baseline: `${direct.toFixed(0)} req/s (its host port, no relay)`,
      ratio: `${(toVm / direct).toFixed(2)}x`,
      target: "-",
      met: null,
    });
  } finally {
    await server.close();
    for (const name of JSON.parse((await cli("ls", "--json")).stdout).items.map(
      (v: { name: string }) => v.name,
    ))
      await cli("rm", name, "--no-wait");
  }
  return rows;
}
