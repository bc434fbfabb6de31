// The agent's connection, bundled and run under Bun and under Deno against a fake control plane that
// misbehaves on demand (test/agent-harness/fake-control-plane.ts): the handshake, heartbeats, exec over the
// link, every refusal with its close code, reconnecting, stopping for good, and shutting down.
import { existsSync } from "node:fs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  CloseCode,
  generateKeyPair,
  HEARTBEAT_MISSES,
  PROTOCOL_CAPABILITY,
  Signer,
} from "../schema/protocol/index.ts";
import { FakeControlPlane, type FakeLink } from "../test/agent-harness/fake-control-plane.ts";
import { buildTestBundle, type Proc, RUNTIMES, start } from "../test/agent-harness/processes.ts";
import { freePort } from "../test/harness/process.ts";
import { backoffWindow } from "./backoff.ts";
import { AGENT_VERSION } from "./version.ts";

let bundle: string;
beforeAll(async () => {
  bundle = await buildTestBundle();
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

const text = (b: Uint8Array) => new TextDecoder().decode(b);
/** A killed child is gone once reaped, by init after the agent exits: seconds on a loaded machine. */
const GONE = { timeout: 5000 };

describe.each(RUNTIMES)("connection on %s", (runtime) => {
  async function setup(): Promise<{ cp: FakeControlPlane; agent: Proc; link: FakeLink }> {
    const cp = await FakeControlPlane.start();
    cleanups.push(() => cp.close());
    const agent = start(runtime, bundle, ["run", "--state-dir", cp.stateDir()]);
    cleanups.push(() => agent.stop("SIGKILL"));
    const link = await cp.nextLink();
    return { cp, agent, link };
  }

  it("dials with its host id, answers the challenge, pings, and answers pings", async () => {
    const { cp, agent, link } = await setup();
    expect(link.hostParam).toBe(cp.hostId);
    const hello = await link.handshake({ heartbeat: 1000 });
    expect(hello).toMatchObject({ host: cp.hostId, version: AGENT_VERSION, cap: PROTOCOL_CAPABILITY });
    expect(hello.facts).toMatchObject({ os: process.platform, runtime, arch: process.arch });
    expect(hello.facts.cpus).toBeGreaterThan(0);
    expect(hello.facts.memory).toBeGreaterThan(0);
    await agent.waitFor(/connected to http:\/\/127\.0\.0\.1:\d+ as web01\.prod/);
    const ping = await link.next("ping", 2500);
    expect(Math.abs(ping.time - Date.now())).toBeLessThan(5000);
    await link.send({ t: "ping", time: 42 });
    const pong = await link.next("pong");
    expect(pong.time).toBe(42);
    await link.send({ t: "config", config: { services: [], listeners: [] } });
    await link.send({ t: "error", code: "just_saying", message: "hello from the fake" });
    await agent.waitFor(/the control plane reported just_saying: hello from the fake/);
    expect(link.errors).toEqual([]);
  });

  it("reports its effective view after each config, and only to a control plane of capability 5", async () => {
    const cp = await FakeControlPlane.start();
    cleanups.push(() => cp.close());
    const args = ["run", "--state-dir", cp.stateDir(), "--service", "ssh=127.0.0.1:22"];
    const agent = start(runtime, bundle, args);
    cleanups.push(() => agent.stop("SIGKILL"));
    const port = await freePort();
    const config = {
      services: [
        { name: "ssh", target: "127.0.0.1:2222" },
        { name: "lan", target: "192.168.1.5:80" },
      ],
      listeners: [{ route: "mesh_a", listen: `127.0.0.1:${port}`, to: "db.prod:pg" }],
    };
    // An older control plane (cap 4) would refuse the unknown frame: none is sent.
    const old = await cp.nextLink();
    await old.handshake({ cap: 4 });
    await old.send({ t: "config", config });
    await old.send({ t: "ping", time: 7 });
    await old.next("pong");
    expect(old.received.map((f) => f.t)).not.toContain("report");
    old.close(1012, "restart");
    // A current one gets the report after the config.
    const link = await cp.nextLink();
    await link.handshake();
    await link.send({ t: "config", config });
    const { report } = await link.next("report");
    expect(report.services).toEqual([
      { name: "ssh", source: "agent", target: "127.0.0.1:22", wins: true, allowed: true },
      {
        name: "ssh",
        source: "cp",
        target: "127.0.0.1:2222",
        wins: false,
        allowed: false,
        reason: "overridden by this host's own service",
      },
      expect.objectContaining({ name: "lan", source: "cp", wins: true, allowed: false }),
    ]);
    expect(report.listeners).toEqual([{ route: "mesh_a", listen: `127.0.0.1:${port}`, state: "listening" }]);
    expect(link.errors).toEqual([]);
  });

  it("runs exec over the link, and refuses a bare-port tcp stream without --allow-loopback", async () => {
    const { link } = await setup();
    await link.handshake();
    await link.send({
      t: "exec.open",
      sid: 1,
      argv: ["sh", "-c", "echo hi; echo err >&2; exit 4"],
      credit: 1 << 20,
    });
    const exit = await link.next("exit");
    expect(exit).toMatchObject({ sid: 1, code: 4 });
    const types = link.received.filter((f) => "sid" in f && f.sid === 1).map((f) => f.t);
    // stdout and stderr are two pipes read side by side: either may be relayed first.
    expect([types[0], types.at(-1), types.slice(1, -1).sort()]).toEqual([
      "credit",
      "exit",
      ["stderr", "stdout"],
    ]);
    const stdout = link.received.find((f) => f.t === "stdout");
    expect(text((stdout as { data: Uint8Array }).data)).toBe("hi\n");
    await link.send({ t: "tcp.open", sid: 3, target: 22, credit: 1000 });
    expect(await link.next("close")).toMatchObject({
      sid: 3,
      reason: "refused: bare ports need an agent started with --allow-loopback",
    });
    expect(link.errors).toEqual([]);
  });

  it("closes 4401 and stops when the challenge is signed by another key", async () => {
    const { link, agent } = await setup();
    const other = await Signer.fromSeed((await generateKeyPair()).seed);
    await link.send(
      {
        t: "challenge",
        nonce: new Uint8Array(32),
        time: Date.now(),
        conn: link.conn,
        kid: other.keyId,
        cap: 1,
      },
      { signer: other },
    );
    expect((await link.closed).code).toBe(CloseCode.UNAUTHORIZED);
    expect(await agent.exited).toBe(1);
    expect(agent.stderr()).toMatch(/signs with key kid_\S+, not kid_\S+ pinned at enrollment; /);
  });

  it.each([
    ["garbage bytes", (l: FakeLink) => l.sendRaw(new Uint8Array([1, 2, 3])), CloseCode.MALFORMED],
    ["a text message", (l: FakeLink) => l.sendRaw("hello"), CloseCode.MALFORMED],
    [
      "a replayed sequence number",
      (l: FakeLink) => l.send({ t: "ping", time: 1 }, { seq: 1 }),
      CloseCode.REPLAY,
    ],
    ["a second ready", (l: FakeLink) => l.send({ t: "ready", heartbeat: 1000 }), CloseCode.MALFORMED],
    [
      "a second challenge",
      (l: FakeLink) =>
        l.send({ t: "challenge", nonce: new Uint8Array(32), time: 0, conn: l.conn, kid: l.kid, cap: 1 }),
      CloseCode.MALFORMED,
    ],
    [
      "a frame signed by another key",
      async (l: FakeLink) =>
        l.send({ t: "ping", time: 1 }, { signer: await Signer.fromSeed((await generateKeyPair()).seed) }),
      CloseCode.UNAUTHORIZED,
    ],
  ])("closes the connection on %s, and dials again", async (_what, misbehave, code) => {
    const { cp, agent, link } = await setup();
    await link.handshake({ heartbeat: 1000 });
    await agent.waitFor(/connected/);
    await misbehave(link);
    expect((await link.closed).code).toBe(code);
    const again = await cp.nextLink();
    await again.handshake();
    await agent.waitFor(/reconnecting in \d+ ms/);
    await agent.waitFor(/connected[\s\S]*connected/);
  });

  it("refuses stream frames before ready", async () => {
    const { cp, link } = await setup();
    const nonce = crypto.getRandomValues(new Uint8Array(32));
    await link.send({
      t: "challenge",
      nonce,
      time: Date.now(),
      conn: link.conn,
      kid: cp.signer.keyId,
      cap: 1,
    });
    await link.next("hello");
    await link.send({ t: "exec.open", sid: 1, argv: ["true"], credit: 10 });
    expect((await link.closed).code).toBe(CloseCode.MALFORMED);
    expect(link.received.map((f) => f.t)).toEqual(["hello"]);
  });

  it(`closes 4408 when the control plane is silent for ${HEARTBEAT_MISSES} heartbeats, and dials again`, async () => {
    const { cp, agent, link } = await setup();
    link.autoPong = false;
    const started = Date.now();
    await link.handshake({ heartbeat: 1000 });
    expect((await link.closed).code).toBe(CloseCode.TIMEOUT);
    const silent = Date.now() - started;
    expect(silent).toBeGreaterThanOrEqual(HEARTBEAT_MISSES * 1000);
    expect(silent).toBeLessThan((HEARTBEAT_MISSES + 2) * 1000);
    await cp.nextLink();
    await agent.waitFor(/nothing from the control plane for \d+ ms/);
  });

  it("dials again soon after the control plane goes away (1001), and kills what ran", async () => {
    const { cp, agent, link } = await setup();
    await link.handshake();
    await link.send({ t: "exec.open", sid: 1, argv: ["sh", "-c", "echo $$; exec sleep 30"], credit: 1000 });
    const pid = text((await link.next("stdout")).data).trim();
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    const gone = Date.now();
    link.close(CloseCode.GOING_AWAY, "redeploying");
    const again = await cp.nextLink();
    // The backoff restarts after a ready: the first retry comes within 500 ms.
    expect(Date.now() - gone).toBeLessThan(1500);
    await again.handshake();
    await agent.waitFor(/closed by the control plane, 1001: redeploying\); reconnecting in \d+ ms/);
    await expect.poll(() => existsSync(`/proc/${pid}`), GONE).toBe(false);
  });

  it.each([
    [
      CloseCode.REVOKED,
      "host revoked",
      /refused this host: it was revoked or deleted \(host revoked\); enroll it again/,
    ],
    [CloseCode.UPGRADE_REQUIRED, "too old", /requires a newer agent than \d+\.\d+\.\d+ \(too old\); install/],
  ])("stops for good on close %i", async (code, reason, words) => {
    const { agent, link } = await setup();
    link.close(code, reason);
    expect(await agent.exited).toBe(1);
    expect(agent.stderr()).toMatch(words);
    expect(agent.stderr().trim().split("\n").at(-1)).toMatch(words);
  });

  it.each(["SIGTERM", "SIGINT"] as const)(
    "shuts down on %s: closes 1000, kills running execs, exits 0",
    async (signal) => {
      const { agent, link } = await setup();
      await link.handshake();
      await link.send({ t: "exec.open", sid: 1, argv: ["sh", "-c", "echo $$; exec sleep 30"], credit: 1000 });
      const pid = text((await link.next("stdout")).data).trim();
      expect(await agent.stop(signal)).toBe(0);
      expect((await link.closed).code).toBe(CloseCode.NORMAL);
      await expect.poll(() => existsSync(`/proc/${pid}`), GONE).toBe(false);
    },
  );

  it("keeps dialling while nobody listens, within growing backoff windows", async () => {
    const cp = await FakeControlPlane.start();
    const dir = cp.stateDir();
    await cp.close();
    const agent = start(runtime, bundle, ["run", "--state-dir", dir]);
    cleanups.push(() => agent.stop("SIGKILL"));
    await agent.waitFor(/(reconnecting in \d+ ms[\s\S]*){3}/, 15_000);
    expect(agent.stderr()).toMatch(/\(connection failed[^)]*\); reconnecting/);
    const delays = [...agent.stderr().matchAll(/reconnecting in (\d+) ms/g)].map((m) => Number(m[1]));
    for (const [attempt, delay] of delays.entries()) expect(delay).toBeLessThan(backoffWindow(attempt));
  });
});
