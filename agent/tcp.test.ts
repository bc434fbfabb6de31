// TCP streams through the bundled agent, under Bun and under Deno: a fake control plane (a test peer,
// test/agent-harness/fake-control-plane.ts) opens streams to real TCP servers on 127.0.0.1 and checks bytes,
// half closes, flow control and every refusal; config-driven mesh listeners open streams the other
// way. The real control plane's end of the same streams is tested in test/.
import { connect, type Socket } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { _sealPayload } from "../schema/protocol/envelope.ts";
import {
  type CborValue,
  CloseCode,
  encodeCbor,
  type HostConfig,
  MAX_CHUNK_BYTES,
} from "../schema/protocol/index.ts";
import { FakeControlPlane, type FakeLink } from "../test/agent-harness/fake-control-plane.ts";
import { PeerStream } from "../test/agent-harness/peer-stream.ts";
import { buildTestBundle, type Proc, RUNTIMES, start } from "../test/agent-harness/processes.ts";
import {
  closedPort,
  echoServer,
  floodServer,
  sha256,
  sourceServer,
  startServer,
  type TestServer,
} from "../test/agent-harness/tcp-servers.ts";

/** The agent's receive window (agent/tcp/tcp-stream.ts TCP_WINDOW_BYTES). */
const AGENT_WINDOW = 4 * 1024 * 1024;

let bundle: string;
beforeAll(async () => {
  bundle = await buildTestBundle();
});

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
});

function random(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(bytes, i + 65536)));
  return out;
}

async function server(s: Promise<TestServer>): Promise<TestServer> {
  const started = await s;
  cleanups.push(() => started.close());
  return started;
}

type Services = HostConfig["services"];
const config = (services: Services = [], listeners: HostConfig["listeners"] = []): HostConfig => ({
  services,
  listeners,
});

/** A client of a mesh listener: connects, collects what comes back, knows when the agent ended it. */
function client(port: number): Promise<{ socket: Socket; data: () => Buffer; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    const ended = new Promise<void>((done) => {
      socket.on("end", done);
      socket.on("close", done);
    });
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.removeListener("error", reject);
      socket.on("error", () => {});
      resolve({ socket, data: () => Buffer.concat(chunks), ended });
    });
    cleanups.push(() => socket.destroy());
  });
}

/** Connects to `port` and resolves once the other end closes or resets the connection. */
function closedAtOnce(port: number, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the connection to ${port} stayed open for ${ms} ms`));
    }, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.on("error", done); // a reset, even before 'connect'
    socket.on("close", done);
    socket.resume();
  });
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe.each(RUNTIMES)("tcp streams on %s", (runtime) => {
  async function setup(args: string[] = []): Promise<{ cp: FakeControlPlane; agent: Proc; link: FakeLink }> {
    const cp = await FakeControlPlane.start();
    cleanups.push(() => cp.close());
    const agent = start(runtime, bundle, ["run", "--state-dir", cp.stateDir(), ...args]);
    cleanups.push(() => agent.stop("SIGKILL"));
    const link = await cp.nextLink();
    await link.handshake();
    await agent.waitFor(/connected to/);
    return { cp, agent, link };
  }

  it("carries a few MB both ways intact to a local service, and half-closes both ways", async () => {
    const echo = await server(echoServer());
    const { link } = await setup(["--service", `echo=127.0.0.1:${echo.port}`]);
    const peer = PeerStream.open(link, 1, "echo", { window: 256 * 1024 });
    expect(await peer.opened).toBe(AGENT_WINDOW);
    const up = random(3 * 1024 * 1024 + 17);
    await peer.write(up);
    await peer.sendFin();
    const conn = echo.connections[0]!;
    expect(sha256(await conn.ended)).toBe(sha256(up)); // our fin reached the service as its FIN
    await peer.fin; // the service's FIN came back as fin
    expect(peer.received).toBe(up.length);
    expect(peer.sha256()).toBe(sha256(up));
    expect(peer.violations).toEqual([]);
    await conn.closed; // both fins through: the agent let go of the socket
    await new Promise((r) => setTimeout(r, 200));
    expect(peer.types).not.toContain("close");
    expect(peer.types.filter((t) => t === "credit").length).toBeGreaterThan(1);
    expect(link.errors).toEqual([]);
  });

  it("sends fin when the service half-closes first, and still delivers what comes after", async () => {
    const down = random(2 * 1024 * 1024 + 5);
    const source = await server(sourceServer(down));
    const { link } = await setup(["--service", `src=localhost:${source.port}`]);
    const peer = PeerStream.open(link, 1, "src", { window: 1024 * 1024 });
    await peer.opened;
    await peer.fin;
    expect(peer.sha256()).toBe(sha256(down));
    const up = random(1024 * 1024);
    await peer.write(up);
    await peer.sendFin();
    const conn = await source.nextConnection();
    expect(sha256(await conn.ended)).toBe(sha256(up));
    await conn.closed;
    expect(peer.types).not.toContain("close");
    expect(peer.violations).toEqual([]);
  });

  it("still delivers what it received when a close follows both fins (a relay closing its end)", async () => {
    const source = await server(sourceServer(new TextEncoder().encode("hello")));
    const { link } = await setup(["--service", `src=127.0.0.1:${source.port}`]);
    const peer = PeerStream.open(link, 1, "src", { window: 1024 });
    await peer.opened;
    await peer.fin;
    const up = random(1024 * 1024);
    await peer.write(up, MAX_CHUNK_BYTES);
    await peer.sendFin();
    await peer.close();
    const conn = await source.nextConnection();
    expect(sha256(await conn.ended)).toBe(sha256(up));
    await conn.closed;
    expect(peer.types.filter((t) => t !== "credit")).toEqual(["tcp.opened", "data", "fin"]);
  });

  it("never sends beyond the credit granted: a slow reader stalls the service, not the agent", async () => {
    const flood = await server(floodServer(64 * 1024 * 1024));
    const { link } = await setup(["--allow-loopback"]);
    const peer = PeerStream.open(link, 1, flood.port, { window: 64 * 1024, autoGrant: false });
    await peer.opened;
    await peer.waitForBytes(64 * 1024);
    await new Promise((r) => setTimeout(r, 1500));
    expect(peer.received).toBe(64 * 1024);
    const conn = flood.connections[0]!;
    // What the service managed to write sits in kernel buffers and at most one read chunk in the agent.
    expect(conn.flushed).toBeLessThan(32 * 1024 * 1024);
    const stalledAt = conn.flushed;
    await new Promise((r) => setTimeout(r, 500));
    expect(conn.flushed).toBe(stalledAt);
    await peer.grant(300 * 1024);
    await peer.waitForBytes(364 * 1024);
    await new Promise((r) => setTimeout(r, 500));
    expect(peer.received).toBe(364 * 1024);
    peer.autoGrant = true;
    await peer.grant(4 * 1024 * 1024);
    await peer.fin;
    expect(peer.received).toBe(64 * 1024 * 1024);
    expect(peer.violations).toEqual([]);
    expect(peer.chunks.every((c) => c.length <= MAX_CHUNK_BYTES)).toBe(true);
  });

  it("ends a stream whose control plane breaks the rules, saying why", async () => {
    const sink = await server(startServer(() => {})); // reads, never half-closes
    const { link } = await setup(["--allow-loopback"]);
    const peer = PeerStream.open(link, 1, sink.port, { window: 1024 * 1024 });
    await peer.opened;
    await peer.sendFin();
    await link.send({ t: "data", sid: 1, data: new Uint8Array(10) });
    expect(await peer.closed).toBe("data after fin");
  });

  it("runs many streams at once", async () => {
    const echo = await server(echoServer());
    const { link } = await setup(["--service", `echo=127.0.0.1:${echo.port}`]);
    const peers = Array.from({ length: 24 }, (_, i) =>
      PeerStream.open(link, 2 * i + 1, "echo", { window: 128 * 1024 }),
    );
    const payloads = peers.map((_, i) => random(100_000 + i * 9_973));
    await Promise.all(
      peers.map(async (peer, i) => {
        await peer.opened;
        await peer.write(payloads[i]!);
        await peer.sendFin();
        await peer.fin;
      }),
    );
    for (const [i, peer] of peers.entries()) {
      expect(peer.sha256()).toBe(sha256(payloads[i]!));
      expect(peer.violations).toEqual([]);
    }
  });

  it("tears the socket down on close from the control plane", async () => {
    const echo = await server(echoServer());
    const { link } = await setup(["--allow-loopback"]);
    const peer = PeerStream.open(link, 1, echo.port, { window: 1024 });
    await peer.opened;
    const conn = await echo.nextConnection();
    await peer.close("client went away");
    await conn.closed;
    // Frames that crossed the close are ignored; the stream id is not reused by an open either.
    await link.send({ t: "data", sid: 1, data: new Uint8Array(10) });
    await link.send({ t: "credit", sid: 1, bytes: 10 });
    const again = PeerStream.open(link, 3, echo.port, { window: 1024 });
    await again.opened;
    expect(peer.types).toEqual(["tcp.opened"]);
  });

  it("tells the control plane when the service resets the connection", async () => {
    const rude = await server(startServer(({ socket }) => socket.resetAndDestroy()));
    const { link } = await setup(["--service", `rude=127.0.0.1:${rude.port}`]);
    const peer = PeerStream.open(link, 1, "rude", { window: 1024 });
    await peer.opened.catch(() => {});
    // Reset while connecting (close with "nobody"/"failed") or after (close "connection ... failed"):
    // either way one close with a reason, never a fin.
    const reason = await peer.closed;
    expect(reason).toMatch(new RegExp(`127\\.0\\.0\\.1:${rude.port}`));
    expect(peer.types).not.toContain("fin");
  });

  describe("refusals, with the policy's reason verbatim", () => {
    it.each([
      [
        "a bare port without --allow-loopback",
        [] as string[],
        [] as Services,
        22,
        "refused: bare ports need an agent started with --allow-loopback",
      ],
      [
        "the metadata address through an API service",
        ["--allow-net", "169.254.0.0/16"],
        [{ name: "meta", target: "169.254.169.254:80" }],
        "meta",
        "refused: 169.254.169.254 is a cloud metadata address",
      ],
      [
        "a private range through an API service",
        [],
        [{ name: "db", target: "10.1.2.3:5432" }],
        "db",
        "refused: 10.1.2.3 is in a private range this host has not opened (start the agent with --allow-net 10.0.0.0/8)",
      ],
      [
        "an unknown service",
        ["--service", "ssh=127.0.0.1:22"],
        [{ name: "db", target: "127.0.0.1:5432" }],
        "nope",
        "unknown service 'nope' (known: db, ssh)",
      ],
    ])("refuses %s", async (_what, args, services, target, reason) => {
      const { link, agent } = await setup(args);
      await link.send({ t: "config", config: config(services) });
      const peer = PeerStream.open(link, 1, target, { window: 1024 });
      expect(await peer.closed).toBe(reason);
      await expect(peer.opened).rejects.toThrow(reason);
      await agent.waitFor(/refused a tcp stream to /);
    });

    it("says nobody is listening when the connection is refused", async () => {
      const port = await closedPort();
      const { link } = await setup(["--allow-loopback"]);
      const peer = PeerStream.open(link, 1, port, { window: 1024 });
      expect(await peer.closed).toBe(`nobody is listening on 127.0.0.1:${port} (connection refused)`);
    });

    it("lets API services reach loopback, by address and by name; a local service wins", async () => {
      const echo = await server(echoServer());
      const other = await server(echoServer());
      const { link, agent } = await setup(["--service", `mine=127.0.0.1:${echo.port}`]);
      await link.send({
        t: "config",
        config: config([
          { name: "byip", target: `127.0.0.1:${echo.port}` },
          { name: "byname", target: `localhost:${echo.port}` },
          { name: "mine", target: `127.0.0.1:${other.port}` },
        ]),
      });
      await agent.waitFor(
        /service 'mine' from the control plane is overridden by this host's --service mine/,
      );
      for (const [sid, name] of [
        [1, "byip"],
        [3, "byname"],
        [5, "mine"],
      ] as const) {
        const peer = PeerStream.open(link, sid, name, { window: 64 * 1024 });
        await peer.opened;
        await peer.write(new TextEncoder().encode(name));
        await peer.sendFin();
        await peer.fin;
        expect(new TextDecoder().decode(peer.bytes())).toBe(name);
      }
      expect(other.connections).toHaveLength(0);
    });
  });

  describe("mesh listeners", () => {
    const route = "mesh_0123456789abcdef";

    it("opens a stream for each connection to a listener, and splices it", async () => {
      const port = await closedPort();
      const { link, agent } = await setup();
      await link.send({
        t: "config",
        config: config([], [{ route, listen: `127.0.0.1:${port}`, to: "db01.prod:postgres" }]),
      });
      await agent.waitFor(
        new RegExp(`mesh route ${route}: listening on 127\\.0\\.0\\.1:${port} for db01\\.prod:postgres`),
      );
      const opens: { sid: number; target: string | number; credit: number }[] = [];
      link.onFrame((f) => {
        if (f.t === "tcp.open") opens.push(f);
      });
      const c = await client(port);
      await expect.poll(() => opens.length).toBe(1);
      const open = opens[0]!;
      expect(open).toMatchObject({ sid: 2, target: route, credit: AGENT_WINDOW });
      // The test peer plays the far host: echo everything back, then fin after the client's fin.
      const peer = new PeerStream(link, open.sid, { window: 128 * 1024 });
      await peer.accept(open.credit);
      const up = random(1024 * 1024 + 3);
      c.socket.write(up);
      c.socket.end();
      await peer.fin;
      expect(peer.sha256()).toBe(sha256(up));
      await peer.write(peer.bytes());
      await peer.sendFin();
      await c.ended;
      expect(sha256(c.data())).toBe(sha256(up));
      expect(peer.violations).toEqual([]);

      // A second connection gets the next even id.
      await client(port);
      await expect.poll(() => opens.length).toBe(2);
      expect(opens[1]).toMatchObject({ sid: 4, target: route });
    });

    it("closes the connection when the control plane refuses the route", async () => {
      const port = await closedPort();
      const { link, agent } = await setup();
      await link.send({
        t: "config",
        config: config([], [{ route, listen: `127.0.0.1:${port}`, to: "x:y" }]),
      });
      await agent.waitFor(/listening on/);
      link.onFrame((f) => {
        if (f.t === "tcp.open")
          void link.send({ t: "close", sid: f.sid, reason: `no mesh route '${route}'` });
      });
      const c = await client(port);
      await c.ended;
      await agent.waitFor(new RegExp(`mesh route ${route}: the control plane refused it: no mesh route`));
    });

    it("follows the config: removed listeners stop, unchanged ones stay, odd addresses are refused", async () => {
      // The frame admits only loopback-shaped addresses; these two pass it, and the host's policy
      // still refuses them: no such octet, and a spelling with a leading zero.
      const [a, b] = [await closedPort(), await closedPort()];
      const { link, agent } = await setup();
      const listenerA = { route, listen: `127.0.0.1:${a}`, to: "db01.prod:postgres" };
      await link.send({
        t: "config",
        config: config(
          [],
          [
            listenerA,
            { route: "mesh_octet", listen: `127.0.0.256:${b}`, to: "x:y" },
            { route: "mesh_zero", listen: `127.0.0.01:${b}`, to: "x:y" },
          ],
        ),
      });
      await agent.waitFor(
        /mesh route mesh_octet: refused to listen on '127\.0\.0\.256:\d+': '127\.0\.0\.256' is not a valid address/,
      );
      await agent.waitFor(
        /mesh route mesh_zero: refused to listen on '127\.0\.0\.01:\d+': '127\.0\.0\.01' is not a valid address/,
      );
      await agent.waitFor(new RegExp(`mesh route ${route}: listening on 127\\.0\\.0\\.1:${a}`));
      expect(await canConnect(a)).toBe(true);
      expect(await canConnect(b)).toBe(false);
      await link.send({
        t: "config",
        config: config([], [listenerA, { route: "mesh_b", listen: `127.0.0.1:${b}`, to: "x:y" }]),
      });
      await agent.waitFor(/mesh route mesh_b: listening on/);
      expect(await canConnect(b)).toBe(true);
      await link.send({
        t: "config",
        config: config([], [{ route: "mesh_b", listen: `127.0.0.1:${b}`, to: "x:y" }]),
      });
      await agent.waitFor(new RegExp(`mesh route ${route}: stopped listening on 127\\.0\\.0\\.1:${a}`));
      await expect.poll(() => canConnect(a)).toBe(false); // Deno closes the socket a moment later
      expect(await canConnect(b)).toBe(true);
      expect(agent.stderr().match(/listening on 127\.0\.0\.1/g)).toHaveLength(3); // a, b; a stopped
      expect(agent.stderr().match(/mesh route mesh_b: listening on/g)).toHaveLength(1);
    });

    it("refuses a malformed config whole: none of it is applied", async () => {
      const port = await closedPort();
      const { cp, link, agent } = await setup();
      const entry = (o: Record<string, string>) => new Map(Object.entries(o));
      // A good listener, then one on a public address: what encodeFrame would refuse to send.
      const frame = new Map<string, CborValue>([
        ["t", "config"],
        ["seq", 1000],
        [
          "config",
          new Map([
            ["services", [entry({ name: "db", target: "127.0.0.1:5432" })]],
            [
              "listeners",
              [
                entry({ route, listen: `127.0.0.1:${port}`, to: "db01.prod:postgres" }),
                entry({ route: "mesh_public", listen: "0.0.0.0:15432", to: "db01.prod:postgres" }),
              ],
            ],
          ]),
        ],
      ]);
      link.sendRaw(
        await _sealPayload(encodeCbor(frame), cp.signer, { connectionId: link.conn, direction: "cp>agent" }),
      );
      expect((await link.closed).code).toBe(CloseCode.MALFORMED);
      await agent.waitFor(
        /refused a message from the control plane: Cannot decode frame: config field config\.listeners\[1\]\.listen must be a loopback address and port like 127\.0\.0\.1:15432 or \[::1\]:15432, got "0\.0\.0\.0:15432"/,
      );
      expect(await canConnect(port)).toBe(false);
      expect(agent.stderr()).not.toMatch(/listening on/);
    });

    it("ends the streams of a route that changes or goes, telling the control plane why", async () => {
      const port = await closedPort();
      const { link, agent } = await setup();
      const listener = { route, listen: `127.0.0.1:${port}`, to: "db01.prod:postgres" };
      await link.send({ t: "config", config: config([], [listener]) });
      await agent.waitFor(/listening on/);
      const opens: number[] = [];
      link.onFrame((f) => {
        if (f.t === "tcp.open") opens.push(f.sid);
      });
      const connected = async () => {
        const c = await client(port);
        await expect.poll(() => opens.length).toBeGreaterThan(0);
        const peer = new PeerStream(link, opens.shift()!, { window: AGENT_WINDOW });
        await peer.accept(AGENT_WINDOW);
        return { c, peer };
      };

      const first = await connected();
      await link.send({ t: "config", config: config([], [{ ...listener, to: "db02.prod:postgres" }]) });
      expect(await first.peer.closed).toBe(`mesh route ${route} was changed`);
      await first.c.ended;
      await agent.waitFor(new RegExp(`mesh route ${route}: now leads to db02\\.prod:postgres`));
      await agent.waitFor(new RegExp(`mesh route ${route}: closed 1 open connection\\(s\\) through it`));

      const second = await connected();
      expect(agent.stderr().match(/: listening on/g)).toHaveLength(1); // the same listener, still up
      await link.send({ t: "config", config: config([], []) });
      expect(await second.peer.closed).toBe(`mesh route ${route} was removed`);
      await second.c.ended;
      await expect.poll(() => canConnect(port)).toBe(false);
    });

    it("keeps listening across reconnects; connections while disconnected are closed", async () => {
      const port = await closedPort();
      const { cp, link, agent } = await setup();
      const listener = { route, listen: `127.0.0.1:${port}`, to: "db01.prod:postgres" };
      await link.send({ t: "config", config: config([], [listener]) });
      await agent.waitFor(/listening on/);
      link.close(CloseCode.GOING_AWAY, "redeploying");
      await agent.waitFor(/reconnecting in/);
      await closedAtOnce(port); // the listener is still there, and closes what it accepts meanwhile
      await agent.waitFor(/closed a connection on 127\.0\.0\.1:\d+: not connected to the control plane/);
      const again = await cp.nextLink();
      await again.handshake();
      await again.send({ t: "config", config: config([], [listener]) });
      await agent.waitFor(/connected to http[\s\S]*connected to http/);
      const opens: number[] = [];
      again.onFrame((f) => {
        if (f.t === "tcp.open") opens.push(f.sid);
      });
      await client(port);
      await expect.poll(() => opens).toEqual([2]); // ids start again on the new connection
      expect(agent.stderr().match(/listening on/g)).toHaveLength(1); // never rebound
      expect(agent.stderr()).not.toMatch(/stopped listening/);
    });
  });
});
