// Apps as containers (agent/apps/container.ts) in real agents under Bun and Deno, against the fake
// control plane, with real rootful podman running an image imported from a local rootfs tarball
// (busybox-static: its httpd is the app). Skipped, saying why, where podman cannot run a container.
// On this project's CI machine podman needs runc (crun refuses its hybrid cgroups), cgroupfs, the
// file events backend and ulimits within the hard limits: the containers.conf below says so, passed
// to podman through CONTAINERS_CONF, as an operator would.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Workload, WorkloadStatusFrame } from "../schema/protocol/index.ts";
import { FakeControlPlane, type FakeLink } from "../test/agent-harness/fake-control-plane.ts";
import { buildTestBundle, type Proc, RUNTIMES, start } from "../test/agent-harness/processes.ts";
import { podmanRunCommand } from "./apps/container.ts";

const work = mkdtempSync(join(tmpdir(), "outpost-container-"));
const CONF = join(work, "containers.conf");
writeFileSync(
  CONF,
  `[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n`,
);
const PODMAN_ENV = { ...process.env, CONTAINERS_CONF: CONF };
const IMAGE = `localhost/outpost-test-busybox:${process.pid}`;

const podman = (args: string[]) =>
  spawnSync("podman", args, { env: PODMAN_ENV, encoding: "utf8", timeout: 120_000 });

/** Imports a busybox rootfs as IMAGE; the reason podman cannot run it, or undefined when it can. */
function prepareImage(): string | undefined {
  const busybox = ["/bin/busybox", "/usr/bin/busybox"].find((p) => spawnSync(p, ["true"]).status === 0);
  if (!busybox) return "no busybox-static on this machine";
  if (spawnSync("podman", ["--version"]).status !== 0) return "no podman on this machine";
  const root = join(work, "rootfs");
  mkdirSync(join(root, "bin"), { recursive: true });
  mkdirSync(join(root, "www"), { recursive: true });
  copyFileSync(busybox, join(root, "bin/busybox"));
  spawnSync("chmod", ["755", join(root, "bin/busybox")]);
  symlinkSync("busybox", join(root, "bin/sh"));
  writeFileSync(join(root, "www/healthz"), "ok\n");
  execFileSync("tar", ["cf", join(work, "rootfs.tar"), "-C", root, "."]);
  const imported = podman(["import", join(work, "rootfs.tar"), IMAGE]);
  if (imported.status !== 0) return `podman import failed: ${imported.stderr.trim()}`;
  const ran = podman(["run", "--rm", IMAGE, "/bin/busybox", "true"]);
  return ran.status === 0 ? undefined : `podman run failed: ${ran.stderr.trim().split("\n").at(-1)}`;
}

const cannot = process.platform === "linux" ? prepareImage() : "not Linux";
if (cannot) console.warn(`container tests skipped: ${cannot}`);

let bundle: string;
beforeAll(async () => {
  if (!cannot) bundle = await buildTestBundle();
}, 120_000);

afterAll(() => {
  if (!cannot) podman(["rmi", "--force", IMAGE]);
});

// The app: busybox httpd on $PORT serving /www, plus /www/greeting written from its env.
const APP = 'echo "$GREETING" > /www/greeting; exec /bin/busybox httpd -f -vv -p "$PORT" -h /www';

function workload(
  release: number,
  generation: number,
  opts: { broken?: boolean; desired?: Workload["desired"]; user?: string; cmd?: string[] } = {},
): Workload {
  return {
    id: "wl_0123456789abcdef",
    tenant: "ten_0123456789abcdef",
    kind: "app",
    name: "box",
    generation,
    desired: opts.desired ?? "running",
    spec: {
      kind: "app",
      release,
      image: IMAGE,
      cmd: opts.cmd ?? ["/bin/sh", "-c", APP],
      ...(opts.user !== undefined ? { user: opts.user } : {}),
      env: { GREETING: `hello from release ${release}` },
      health: {
        http: opts.broken ? "/nope" : "/healthz",
        interval: 200,
        timeout: 2000,
        grace: opts.broken ? 3000 : 30_000,
      },
      restart: "always",
      stopSignal: "SIGTERM",
      stopTimeout: 2000,
      keep: 5,
      revertWindow: 0,
    },
    artifact: { sha256: new Uint8Array(32), size: 1 },
    env: [],
    actions: [],
  };
}

function text(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

async function statusUntil(link: FakeLink, ok: (s: WorkloadStatusFrame) => boolean, ms = 90_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const last = link.received.filter((f): f is WorkloadStatusFrame => f.t === "workload.status").at(-1);
    if (last && ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`no matching status; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const live = (s: WorkloadStatusFrame) => s.instances.find((i) => i.release === s.live);

/** The containers of app `box` started by the agent with this state dir's label, by name → id. */
function containers(): Map<string, string> {
  const r = podman(["ps", "--filter", "label=outpost.app=box", "--format", "{{.Names}} {{.ID}}"]);
  return new Map(
    r.stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" ") as [string, string]),
  );
}

describe("the podman command line", () => {
  it("publishes on loopback only, ends podman's options before the image, and keeps env values off argv", () => {
    const { argv, env } = podmanRunCommand(
      {
        podman: "/usr/bin/podman",
        name: "outpost-box-3-abc",
        app: "box",
        release: 3,
        image: "localhost/x:1",
        cmd: ["/bin/sh", "-c", "exec app"],
        port: 40123,
        env: { SECRET: "s3cr3t", PORT: "40123", PATH: "/opt/bin" },
        stopSignal: "SIGINT",
        stopTimeoutMs: 2500,
        user: "1000",
      },
      (n) => ({ PATH: "/usr/bin", CONTAINERS_CONF: "/etc/x.conf" })[n],
    );
    expect(argv.slice(0, 2)).toEqual(["/usr/bin/podman", "run"]);
    expect(argv).toContain("127.0.0.1:40123:40123");
    expect(argv.slice(argv.indexOf("--stop-signal"), argv.indexOf("--stop-signal") + 4)).toEqual([
      "--stop-signal",
      "SIGINT",
      "--stop-timeout",
      "3",
    ]);
    expect(argv.slice(argv.indexOf("--"))).toEqual(["--", "localhost/x:1", "/bin/sh", "-c", "exec app"]);
    expect(argv.slice(argv.indexOf("--user"), argv.indexOf("--user") + 2)).toEqual(["--user", "1000"]);
    expect(argv.indexOf("--user")).toBeLessThan(argv.indexOf("--"));
    expect(argv.join(" ")).not.toContain("s3cr3t");
    expect(argv).toContain("SECRET");
    expect(env).toMatchObject({
      SECRET: "s3cr3t",
      PORT: "40123",
      PATH: "/usr/bin",
      CONTAINERS_CONF: "/etc/x.conf",
    });
    // A name podman reads itself cannot come from its environment: it travels with its value.
    expect(argv).toContain("PATH=/opt/bin");
  });
});

describe.skipIf(cannot !== undefined).each(RUNTIMES)(
  "an app as a podman container on a %s agent",
  (runtime) => {
    let cp: FakeControlPlane;
    let agent: Proc;
    let stateDir: string;
    let link: FakeLink;

    beforeAll(async () => {
      cp = await FakeControlPlane.start();
      stateDir = cp.stateDir();
      for (const n of [1, 2, 3, 4])
        mkdirSync(join(stateDir, "apps", "box", "releases", String(n)), { recursive: true });
      agent = start(runtime, bundle, ["run", "--state-dir", stateDir], { CONTAINERS_CONF: CONF });
      link = await cp.nextLink();
      await link.handshake();
    }, 60_000);

    afterAll(async () => {
      await agent?.stop("SIGKILL");
      for (const name of containers().keys()) podman(["rm", "--force", name]);
      await cp?.close();
    });

    it("runs the image behind the health gate, on loopback, with its env and its output in the app's logs", async () => {
      await link.send({ t: "workloads", workloads: [workload(1, 1)] });
      const s = await statusUntil(link, (x) => x.live === 1 && live(x)?.state === "healthy");
      const port = live(s)!.port!;
      expect(await text(port, "/healthz")).toBe("ok\n");
      expect(await text(port, "/greeting")).toBe("hello from release 1\n");
      expect([...containers().keys()]).toEqual([expect.stringMatching(/^outpost-box-1-/)]);
      // Published on 127.0.0.1 only.
      const ports = podman(["ps", "--filter", "label=outpost.app=box", "--format", "{{.Ports}}"]).stdout;
      expect(ports).toContain(`127.0.0.1:${port}->${port}/tcp`);
      await new Promise((r) => setTimeout(r, 500));
      expect(readFileSync(join(stateDir, "apps/box/logs/stderr.log"), "utf8")).toMatch(/url:\/greeting/);
    }, 120_000);

    it("swaps to a new release's container and stops the old one", async () => {
      await link.send({ t: "workloads", workloads: [workload(2, 2)] });
      const s = await statusUntil(link, (x) => x.live === 2 && live(x)?.state === "healthy");
      expect(await text(live(s)!.port!, "/greeting")).toBe("hello from release 2\n");
      await statusUntil(link, () => [...containers().keys()].every((n) => n.startsWith("outpost-box-2-")));
    }, 120_000);

    it("refuses a release that fails its health check; the live container keeps serving", async () => {
      await link.send({ t: "workloads", workloads: [workload(3, 3, { broken: true })] });
      const s = await statusUntil(link, (x) => (x.message ?? "").includes("failed its health check"));
      expect(s.live).toBe(2);
      expect(await text(live(s)!.port!, "/greeting")).toBe("hello from release 2\n");
      await statusUntil(link, () => [...containers().keys()].every((n) => n.startsWith("outpost-box-2-")));
    }, 120_000);

    it("keeps the container through an agent SIGKILL and re-adopts it by name without a restart", async () => {
      const before = containers();
      const s0 = await statusUntil(link, (x) => x.live === 2);
      await agent.stop("SIGKILL");
      agent = start(runtime, bundle, ["run", "--state-dir", stateDir], { CONTAINERS_CONF: CONF });
      link = await cp.nextLink();
      await link.handshake();
      const s = await statusUntil(link, (x) => x.live === 2);
      expect(live(s)).toMatchObject({
        pid: live(s0)!.pid,
        port: live(s0)!.port,
        restarts: 0,
        state: "healthy",
      });
      expect(containers()).toEqual(before);
      await agent.waitFor(/re-adopted release 2/, 10_000);
    }, 120_000);

    it("runs the container as outpost.toml's user (podman --user)", async () => {
      // The image's /www is root's, so this release only serves it (busybox httpd as uid 4321).
      const cmd = ["/bin/busybox", "httpd", "-f", "-p", "$PORT", "-h", "/www"];
      await link.send({
        t: "workloads",
        workloads: [workload(4, 4, { user: "4321", cmd: ["/bin/sh", "-c", `exec ${cmd.join(" ")}`] })],
      });
      const s = await statusUntil(link, (x) => x.live === 4 && live(x)?.state === "healthy");
      expect(await text(live(s)!.port!, "/healthz")).toBe("ok\n");
      const [name] = [...containers().keys()].filter((n) => n.startsWith("outpost-box-4-"));
      expect(podman(["exec", name!, "/bin/busybox", "id", "-u"]).stdout.trim()).toBe("4321");
      expect(podman(["top", name!, "huser"]).stdout).toMatch(/\b4321\b/);
    }, 120_000);

    it("stops and removes the container when the app is removed", async () => {
      await link.send({ t: "workloads", workloads: [workload(4, 5, { desired: "absent" })] });
      await statusUntil(link, (x) => x.message === "removed");
      expect(containers().size).toBe(0);
    }, 120_000);
  },
);
