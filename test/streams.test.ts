// TCP streams end to end: real agents (Bun and Deno), the real relay in workerd, real OpenSSH, real
// HTTP servers and curl, all on loopback. SSH stays end to end: the relay carries only ciphertext.
import { execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_STREAM_CREDIT } from "../schema/protocol/limits.ts";
import { Outpost, OutpostStreamError } from "../sdk/index.ts";
import { eventually, startAgent, type TestAgent } from "./harness/agent.ts";
import { CLI_BIN, runCli } from "./harness/cli.ts";
import { startHttpServer, type TestHttpServer } from "./harness/http-server.ts";
import { uploadAtOnce } from "./harness/load.ts";
import { freePort, type Running, start } from "./harness/process.ts";
import { type Sshd, startSshd } from "./harness/sshd.ts";
import { type Stack, startStack } from "./harness/stack.ts";

const run = promisify(execFile);
let stack: Stack;
let client: Outpost;
let env: Record<string, string>;
let sshd: Sshd;
let web: TestHttpServer;
let api: TestHttpServer;
let bunAgent: TestAgent;
let denoAgent: TestAgent;
const running: Running[] = [];

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenant("streams");
  client = t.client;
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: t.token, XDG_CONFIG_HOME: stack.dir };
  await client.clusters.create("prod");
  await client.sites.create("prod", "fra1");
  [sshd, web, api] = await Promise.all([startSshd(), startHttpServer("web"), startHttpServer("api")]);
  bunAgent = await startAgent(client, {
    runtime: "bun",
    name: "edge",
    cluster: "prod",
    site: "fra1",
    url: stack.url,
    runArgs: [
      "--service",
      `ssh=127.0.0.1:${sshd.port}`,
      "--service",
      `web=127.0.0.1:${web.port}`,
      "--allow-loopback",
    ],
  });
  denoAgent = await startAgent(client, {
    runtime: "deno",
    name: "core",
    cluster: "prod",
    site: "fra1",
    url: stack.url,
  });
}, 180_000);

afterAll(async () => {
  for (const r of running) await r.stop("SIGKILL");
  await bunAgent?.stop();
  await denoAgent?.stop();
  await sshd?.stop();
  await web?.close();
  await api?.close();
  await stack?.close();
});

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** ssh options that reach `host` through `outpost proxy` to its ssh service. */
function viaOutpost(host: string): string[] {
  return [
    ...sshd.clientOptions,
    "-o",
    `ProxyCommand=${process.execPath} ${CLI_BIN} proxy %h ssh`,
    "-o",
    `HostKeyAlias=${host}`,
    `${sshd.user}@${host}`,
  ];
}

const sshEnv = () => ({ ...process.env, ...env });

describe("tcp streams", () => {
  it("carries bytes both ways with half close, on Bun and on Deno", async () => {
    await client.services.add(denoAgent.ref, "api", `127.0.0.1:${api.port}`);
    for (const [host, service] of [
      [bunAgent.ref, "web"],
      [denoAgent.ref, "api"],
    ] as const) {
      const body = randomBytes(3 * 1024 * 1024);
      const s = client.tcpStream(host, service);
      await s.opened;
      const writer = s.writable.getWriter();
      const request = `POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`;
      await writer.write(new TextEncoder().encode(request));
      await writer.write(body);
      await writer.close(); // half close: the server still answers
      const chunks: Uint8Array[] = [];
      for await (const c of s.readable as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
      await s.closed;
      const response = Buffer.concat(chunks).toString("utf8");
      expect(response).toMatch(/^HTTP\/1\.1 200/);
      expect(response.endsWith(`${body.length} ${sha256(body)}`)).toBe(true);
    }
  });

  it("keeps other streams moving while one stream's reader stalls (flow control per stream)", async () => {
    // What the path may hold while nobody reads: the kernel's buffers at both ends of the service's
    // connection (autotuned up to tcp_wmem's and tcp_rmem's maximum: 4 and 32 MiB here), the client's
    // credit, and the agent's read-ahead with room to spare.
    const kernelMax = (name: string) =>
      Number(readFileSync(`/proc/sys/net/ipv4/${name}`, "utf8").trim().split(/\s+/)[2]);
    const held = kernelMax("tcp_wmem") + kernelMax("tcp_rmem") + DEFAULT_STREAM_CREDIT + 4 * 1024 * 1024;
    // A service that writes as fast as it may, far more than the path can hold.
    const total = held + 32 * 1024 * 1024;
    let flooded = 0; // bytes the service has managed to hand over so far
    const flood = createServer((socket) => {
      socket.on("error", () => {});
      const chunk = Buffer.alloc(256 * 1024, 7);
      let sent = 0;
      const more = () => {
        while (sent < total) {
          sent += chunk.length;
          flooded = sent;
          if (!socket.write(chunk)) return void socket.once("drain", more);
        }
        socket.end();
      };
      more();
    });
    await new Promise<void>((resolve) => flood.listen(0, "127.0.0.1", resolve));
    const floodPort = (flood.address() as AddressInfo).port;
    try {
      // Nobody reads this one: its credit runs out and the host stops reading the service.
      const stalled = client.tcpStream(bunAgent.ref, String(floodPort));
      await stalled.opened;
      await new Promise((r) => setTimeout(r, 500));
      // Meanwhile, on the same host, the same agent connection and the same Durable Object:
      for (let i = 0; i < 5; i++) {
        const s = client.tcpStream(bunAgent.ref, "web");
        await s.opened;
        const writer = s.writable.getWriter();
        await writer.write(
          new TextEncoder().encode(`GET /beside-${i} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`),
        );
        await writer.close();
        const chunks: Uint8Array[] = [];
        for await (const c of s.readable as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
        expect(Buffer.concat(chunks).toString("utf8")).toMatch(new RegExp(`web /beside-${i}$`));
      }
      // Backpressure reached the service: it could hand over no more than windows and socket buffers hold.
      expect(flooded).toBeLessThanOrEqual(held);
      // The stalled stream lost nothing: read it now, every byte arrives.
      let received = 0;
      for await (const c of stalled.readable as unknown as AsyncIterable<Uint8Array>) received += c.length;
      expect(received).toBe(total);
    } finally {
      flood.close();
    }
  });

  it("reaches a loopback port only on hosts started with --allow-loopback", async () => {
    const ok = await runCli(["proxy", bunAgent.ref, String(web.port)], env, "GET /bare HTTP/1.0\r\n\r\n");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("web /bare");
    const refused = client.tcpStream(denoAgent.ref, web.port);
    await expect(refused.opened).rejects.toThrow(/bare ports need an agent started with --allow-loopback/);
  });

  it("refuses targets the host's policy does not allow, with the reason", async () => {
    const cases: Array<[string, RegExp]> = [
      ["169.254.169.254:80", /metadata/],
      ["10.20.30.40:5432", /private range/],
      ["[::ffff:127.0.0.1]:22", /refused/],
    ];
    for (const [target, reason] of cases) {
      const name = `bad${cases.findIndex((c) => c[0] === target)}`;
      await client.services.add(denoAgent.ref, name, target);
      const s = client.tcpStream(denoAgent.ref, name);
      const err = await s.opened.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, target).toBeInstanceOf(OutpostStreamError);
      expect((err as Error).message, target).toMatch(reason);
    }
    const nobody = await freePort();
    await client.services.add(denoAgent.ref, "nobody", `127.0.0.1:${nobody}`);
    const started = Date.now();
    await expect(client.tcpStream(denoAgent.ref, "nobody").opened).rejects.toThrow(/refused|nobody/);
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(client.tcpStream(denoAgent.ref, "unknown-svc").opened).rejects.toThrow(/unknown service/);
    const cli = await runCli(["proxy", denoAgent.ref, "nobody"], env);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/refused|nobody/);
  });

  it("fails fast for an offline host", async () => {
    const gone = await startAgent(client, {
      runtime: "bun",
      name: "gone",
      cluster: "prod",
      site: "fra1",
      url: stack.url,
    });
    await gone.stop();
    await eventually(async () => expect((await client.hosts.get(gone.ref)).host.status).toBe("offline"));
    const cli = await runCli(["proxy", gone.ref, "ssh"], env);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain("offline");
  });
});

describe("ssh through the relay (real OpenSSH)", () => {
  it("runs a command, and an interactive session with -tt", async () => {
    const { stdout } = await run("ssh", [...viaOutpost(bunAgent.ref), "echo", "over-ssh", "$((6*7))"], {
      env: sshEnv(),
    });
    expect(stdout).toBe("over-ssh 42\n");
    const tty = spawn("ssh", ["-tt", ...viaOutpost(bunAgent.ref)], { env: sshEnv() });
    let out = "";
    tty.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    tty.stdin.write("echo interactive-$((1+1))\n");
    tty.stdin.write("exit\n");
    const [code] = await once(tty, "exit");
    expect(code).toBe(0);
    expect(out).toContain("interactive-2");
  });

  it("copies 100 MB with scp, checksums equal", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-scp-"));
    const src = join(dir, "src.bin");
    writeFileSync(src, randomBytes(100 * 1024 * 1024));
    const dst = join(dir, "dst.bin");
    const opts = viaOutpost(bunAgent.ref);
    const target = opts.pop()!;
    await run("scp", ["-q", ...opts, src, `${target}:${dst}`], { env: sshEnv(), maxBuffer: 1 << 20 });
    expect(sha256(readFileSync(dst))).toBe(sha256(readFileSync(src)));
  }, 180_000);

  it("forwards a port with -L inside the ssh session", async () => {
    const local = await freePort();
    const tunnel = start(
      "ssh",
      ["-N", "-L", `127.0.0.1:${local}:127.0.0.1:${api.port}`, ...viaOutpost(bunAgent.ref)],
      { env: sshEnv() },
    );
    running.push(tunnel);
    const body = await eventually(
      async () => (await run("curl", ["-fsS", `http://127.0.0.1:${local}/through-L`])).stdout,
    );
    expect(body).toBe("api /through-L");
    await tunnel.stop();
  });

  it("prints an ssh-config block and drives the system ssh", async () => {
    const cfg = await runCli(["ssh-config", "--cluster", "prod"], env);
    expect(cfg.stdout).toContain("Host *.prod.outpost\n");
    // The same node and this outpost, by path: from the bundle as from the sources.
    expect(cfg.stdout).toContain(
      `ProxyCommand ${process.execPath} ${CLI_BIN} --profile default proxy --suffix .outpost %h ssh`,
    );
    const via = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [CLI_BIN, "ssh", bunAgent.ref, ...sshd.clientOptions, "-l", sshd.user, "echo", "via-outpost-ssh"],
        {
          env: sshEnv(),
        },
      );
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      child.on("exit", (code) => resolve({ code, out }));
    });
    expect(via).toEqual({ code: 0, out: "via-outpost-ssh\n" });
  });
});

describe("outpost forward", () => {
  it("serves real HTTP through a local port, many connections at once", async () => {
    const port = await freePort();
    const fwd = start(
      process.execPath,
      [CLI_BIN, "forward", `${bunAgent.ref}:web`, "--listen", `127.0.0.1:${port}`],
      {
        env: { ...process.env, ...env },
      },
    );
    running.push(fwd);
    await fwd.waitFor(new RegExp(`forwarding 127\\.0\\.0\\.1:${port}`));
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        run("curl", ["-fsS", `http://127.0.0.1:${port}/req-${i}`]).then((r) => r.stdout),
      ),
    );
    expect(results).toEqual(Array.from({ length: 40 }, (_, i) => `web /req-${i}`));
    // Uploads at once: a busy host must stay "alive" while its frames queue at the relay. Two rounds of
    // 100, back to back: the second one's requests reuse the Worker's pooled database connections that
    // sat idle through the first, which the libSQL server used to close under them (15 of 100 failed).
    const body = join(mkdtempSync(join(tmpdir(), "outpost-up-")), "1mb.bin");
    const bytes = randomBytes(1024 * 1024);
    writeFileSync(body, bytes);
    for (let round = 0; round < 2; round++) {
      const uploads = (await uploadAtOnce(`http://127.0.0.1:${port}/`, body, 100)).map((r) =>
        r instanceof Error ? `${r.message}\nforward said:\n${fwd.output().slice(-1500)}` : r,
      );
      expect(new Set(uploads)).toEqual(new Set([`${bytes.length} ${sha256(bytes)}`]));
    }
    expect(await fwd.stop("SIGINT")).toBe(0);
  }, 120_000);
});

/** Writes `text` to `socket` and resolves with the first answer. */
async function roundTrip(socket: Socket, text: string): Promise<string> {
  const answer = once(socket, "data");
  socket.write(text);
  return String((await answer)[0]);
}

/** Resolves when `socket` is closed, whether by an end or a reset. */
function closed(socket: Socket): Promise<void> {
  socket.on("error", () => {});
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

/** A connection to 127.0.0.1:`port` that an echo answers through. */
async function echoing(port: number): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  try {
    await once(socket, "connect");
    const text = await Promise.race([roundTrip(socket, "ping"), closed(socket).then(() => "closed")]);
    if (text !== "ping") throw new Error(`the connection to ${port} answered ${text}`);
    return socket;
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

describe("mesh", () => {
  it("routes a port on one host to another host's service, across restarts", async () => {
    const port = await freePort();
    await client.services.add(denoAgent.ref, "api-mesh", `127.0.0.1:${api.port}`);
    const added = await runCli(
      [
        "mesh",
        "add",
        bunAgent.ref,
        "--listen",
        `127.0.0.1:${port}`,
        "--to",
        `${denoAgent.ref}:api-mesh`,
        "--json",
      ],
      env,
    );
    expect(added.code, added.stderr).toBe(0);
    const route = JSON.parse(added.stdout);
    const get = async (path: string) =>
      (await run("curl", ["-fsS", "--max-time", "5", `http://127.0.0.1:${port}${path}`])).stdout;
    expect(await eventually(() => get("/mesh"))).toBe("api /mesh");
    expect((await runCli(["mesh", "ls"], env)).stdout).toContain(route.id);

    await bunAgent.restart();
    expect(await eventually(() => get("/after-agent-restart"), 20_000)).toBe("api /after-agent-restart");
    await stack.restartControlPlane();
    expect(await eventually(() => get("/after-cp-restart"), 40_000, 250)).toBe("api /after-cp-restart");

    expect((await runCli(["mesh", "rm", route.id], env)).code).toBe(0);
    await eventually(async () => expect(await get("/gone").catch(() => "closed")).toBe("closed"));
  });

  it("ends the connections a removed route carried, at both ends, and refuses new ones", async () => {
    // A service that echoes and keeps every connection open for as long as its client does.
    const served: Promise<void>[] = [];
    const hold = createServer((socket) => {
      served.push(closed(socket));
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => hold.listen(0, "127.0.0.1", resolve));
    try {
      for (const [from, to] of [
        [bunAgent, denoAgent],
        [denoAgent, bunAgent],
      ] as const) {
        const service = `hold-${to.runtime}`;
        await client.services.add(to.ref, service, `127.0.0.1:${(hold.address() as AddressInfo).port}`);
        const port = await freePort();
        const { route } = await client.mesh.add(from.ref, `127.0.0.1:${port}`, `${to.ref}:${service}`);
        const conn = await eventually(() => echoing(port));
        const ended = closed(conn);
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(await roundTrip(conn, "still-open")).toBe("still-open");

        const removed = await runCli(["mesh", "rm", route.id], env);
        expect(removed.code, removed.stderr).toBe(0);
        await ended;
        await Promise.all(served.splice(0)); // the far host's end closed too
        await eventually(() => expect(echoing(port)).rejects.toThrow(/ECONNREFUSED/));
        await from.process.waitFor(new RegExp(`mesh route ${route.id}: closed 1 open connection`), 5000);
      }
    } finally {
      hold.close();
    }
  });

  it("keeps routes inside a cluster and a tenant", async () => {
    await client.clusters.create("other");
    await client.sites.create("other", "x");
    const stranger = await startAgent(client, {
      runtime: "bun",
      name: "stranger",
      cluster: "other",
      site: "x",
      url: stack.url,
    });
    const cross = await runCli(
      ["mesh", "add", bunAgent.ref, "--listen", "127.0.0.1:1", "--to", `${stranger.ref}:web`],
      env,
    );
    expect(cross.code).toBe(1);
    expect(cross.stderr).toContain("within one cluster");
    await stranger.stop();
    const other = await stack.tenant("other-tenant");
    const foreign = await runCli(
      ["mesh", "add", bunAgent.ref, "--listen", "127.0.0.1:1", "--to", `${denoAgent.ref}:api`],
      {
        ...env,
        OUTPOST_TOKEN: other.token,
      },
    );
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain("not found");
    const outsider = new Outpost({ url: stack.url, token: other.token });
    await expect(outsider.tcpStream(denoAgent.ref, "api").opened).rejects.toThrow(/not found/);
  });
});
