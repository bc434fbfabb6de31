// Hostile agents: forged, tampered, replayed, reordered and oversized frames, and revoked hosts. Each
// closes that connection with the documented code (schema/protocol/close-codes.ts) and writes an audit
// event; the host's Durable Object keeps serving and other hosts are unaffected.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { _macPayload } from "../schema/protocol/envelope.ts";
import {
  type AgentFrame,
  CloseCode,
  DataKey,
  encodeFrame,
  KeyExchange,
  sealFrame,
} from "../schema/protocol/index.ts";
import type { Outpost } from "../sdk/index.ts";
import { eventually, startAgent, type TestAgent } from "./harness/agent.ts";
import { enrollIdentity, type Identity, RawAgent } from "./harness/raw-agent.ts";
import { type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let client: Outpost;
let victim: Identity;
let other: Identity;
let bystander: TestAgent;

beforeAll(async () => {
  stack = await startStack();
  client = (await stack.tenant("hostile")).client;
  await client.clusters.create("prod");
  await client.sites.create("prod", "fra1");
  victim = await enrollIdentity(stack.url, client, "victim");
  other = await enrollIdentity(stack.url, client, "other");
  bystander = await startAgent(client, {
    runtime: "bun",
    name: "bystander",
    cluster: "prod",
    site: "fra1",
    url: stack.url,
  });
});
afterAll(async () => {
  await bystander?.stop();
  await stack?.close();
});

async function expectAudited(code: number) {
  await eventually(async () => {
    const { events } = await client.audit({ limit: 50 });
    const hit = events.find(
      (e) => e.action === "agent.protocol_error" && e.target === victim.hostId && e.details.close === code,
    );
    expect(hit, `audit event with close ${code}`).toBeTruthy();
    expect(hit!.outcome).toBe("denied");
  });
}

/** After each attack: the same host still connects normally, and another host still runs commands. */
async function expectStillServing() {
  const good = await RawAgent.connect(stack.url, victim);
  await good.handshake();
  good.ws.close(1000);
  const res = await client.exec(bystander.ref, ["echo", "fine"]);
  expect(new TextDecoder().decode(res.stdout)).toBe("fine\n");
}

describe("hostile frames", () => {
  it("closes 4401 for a hello signed by another host's key", async () => {
    const a = await RawAgent.connect(stack.url, victim);
    a.send(await a.seal(a.helloFrame(), { signer: other.signer }));
    expect((await a.closed).code).toBe(CloseCode.UNAUTHORIZED);
    await expectAudited(CloseCode.UNAUTHORIZED);
    await expectStillServing();
  });

  it("closes 4401 for a tampered payload", async () => {
    const a = await RawAgent.connect(stack.url, victim);
    const sealed = await a.seal(a.helloFrame());
    // Change one character of the version string: still a well-formed frame, no longer what was signed.
    const text = Buffer.from(sealed);
    const at = text.indexOf("0.0.0-test");
    expect(at).toBeGreaterThan(0);
    text[at] = "9".charCodeAt(0);
    a.send(new Uint8Array(text));
    expect((await a.closed).code).toBe(CloseCode.UNAUTHORIZED);
    await expectAudited(CloseCode.UNAUTHORIZED);
    await expectStillServing();
  });

  it("closes 4409 for a frame replayed on the same connection", async () => {
    const a = await RawAgent.connect(stack.url, victim);
    await a.handshake();
    const ping = await a.seal({ t: "ping", time: Date.now() } as never);
    a.send(ping);
    expect((await a.receive()).t).toBe("pong");
    a.send(ping);
    expect((await a.closed).code).toBe(CloseCode.REPLAY);
    await expectAudited(CloseCode.REPLAY);
    await expectStillServing();
  });

  it("refuses a frame replayed from an older connection", async () => {
    const first = await RawAgent.connect(stack.url, victim);
    await first.handshake();
    const captured = await first.seal({ t: "ping", time: Date.now() } as never);
    first.ws.close(1000);
    const second = await RawAgent.connect(stack.url, victim);
    await second.handshake();
    second.send(captured); // seq 2 would be fine here; the signature is bound to the first connection
    expect((await second.closed).code).toBe(CloseCode.UNAUTHORIZED);
    await expectStillServing();
  });

  it("closes 4409 when the sequence number goes backwards", async () => {
    const a = await RawAgent.connect(stack.url, victim);
    await a.handshake();
    a.send(await a.seal({ t: "ping", time: 1 } as never, { seq: 5 }));
    expect((await a.receive()).t).toBe("pong");
    a.send(await a.seal({ t: "ping", time: 2 } as never, { seq: 4 }));
    expect((await a.closed).code).toBe(CloseCode.REPLAY);
    await expectStillServing();
  });

  /** A capability 2 handshake: hello with kx, ready with kx; returns this agent's data key. */
  async function keyedHandshake(a: RawAgent): Promise<DataKey> {
    const exchange = await KeyExchange.start();
    a.send(await a.seal({ ...a.helloFrame(), kx: exchange.publicKey } as never));
    const ready = await a.receive();
    if (ready.t !== "ready" || ready.kx === undefined)
      throw new Error(`expected ready with kx, got ${ready.t}`);
    expect((await a.receive()).t).toBe("config");
    const keys = await exchange.finish(ready.kx, {
      connectionId: a.conn,
      nonce: a.challenge.nonce,
      agentKx: exchange.publicKey,
      cpKx: ready.kx,
    });
    return DataKey.fromBytes(keys["agent>cp"]);
  }

  /** A data frame (on a stream the object does not know: it answers close) MAC'd with `key`. */
  const macData = (a: RawAgent, key: DataKey, seq: number, conn = a.conn) =>
    sealFrame({ t: "data", seq, sid: 7, data: Uint8Array.of(1, 2, 3) } as AgentFrame, a.id.signer, {
      connectionId: conn,
      direction: "agent>cp",
      dataKey: key,
    });

  it("takes MAC'd data frames after a keyed handshake, and closes 4409 for one replayed", async () => {
    const a = await RawAgent.connect(stack.url, victim);
    const key = await keyedHandshake(a);
    const data = await macData(a, key, 2);
    a.send(data);
    // Accepted: the object answers for the unknown stream instead of closing the connection.
    expect(await a.receive()).toMatchObject({ t: "close", sid: 7 });
    a.send(data);
    expect((await a.closed).code).toBe(CloseCode.REPLAY);
    await expectAudited(CloseCode.REPLAY);
    await expectStillServing();
  });

  it("closes 4401 for a data frame MAC'd with a key not agreed on this connection", async () => {
    const a = await RawAgent.connect(stack.url, victim);
    await keyedHandshake(a);
    const forged = await DataKey.fromBytes(crypto.getRandomValues(new Uint8Array(32)));
    a.send(await macData(a, forged, 2));
    expect((await a.closed).code).toBe(CloseCode.UNAUTHORIZED);
    await expectAudited(CloseCode.UNAUTHORIZED);
    await expectStillServing();
  });

  it("closes 4401 for a MAC'd frame captured on an older connection", async () => {
    const first = await RawAgent.connect(stack.url, victim);
    const key = await keyedHandshake(first);
    const captured = await macData(first, key, 2);
    first.ws.close(1000);
    const second = await RawAgent.connect(stack.url, victim);
    await keyedHandshake(second);
    second.send(captured); // seq 2 is fine here; the key and the MAC input belong to the first connection
    expect((await second.closed).code).toBe(CloseCode.UNAUTHORIZED);
    await expectStillServing();
  });

  it("closes 4400 for a MAC'd frame without a keyed handshake, a MAC'd ping, and a signed data frame", async () => {
    const unkeyed = await RawAgent.connect(stack.url, victim);
    await unkeyed.handshake();
    const stray = await DataKey.fromBytes(new Uint8Array(32).fill(7));
    unkeyed.send(await macData(unkeyed, stray, 2));
    expect((await unkeyed.closed).code).toBe(CloseCode.MALFORMED);

    const signedData = await RawAgent.connect(stack.url, victim);
    await keyedHandshake(signedData);
    signedData.send(
      await signedData.seal({ t: "data", sid: 7, data: Uint8Array.of(1) } as never, { seq: 2 }),
    );
    expect((await signedData.closed).code).toBe(CloseCode.MALFORMED);

    const macPing = await RawAgent.connect(stack.url, victim);
    const key = await keyedHandshake(macPing);
    const ping = encodeFrame({ t: "ping", seq: 2, time: Date.now() }, "agent>cp");
    macPing.send(await _macPayload(ping, key, { connectionId: macPing.conn, direction: "agent>cp" }));
    expect((await macPing.closed).code).toBe(CloseCode.MALFORMED);
    await expectAudited(CloseCode.MALFORMED);
    await expectStillServing();
  });

  it("closes 4409 for a hello that does not echo this connection's nonce", async () => {
    const a = await RawAgent.connect(stack.url, victim);
    a.send(await a.seal({ ...a.helloFrame(), nonce: new Uint8Array(32) } as never));
    expect((await a.closed).code).toBe(CloseCode.REPLAY);
    await expectStillServing();
  });

  it("closes 4413 for a message over 1 MiB", async () => {
    const a = await RawAgent.connect(stack.url, victim);
    await a.handshake();
    a.send(new Uint8Array(1024 * 1024 + 16));
    const { code } = await a.closed;
    expect(code).toBe(CloseCode.TOO_BIG);
    await expectStillServing();
  });

  it("closes 4400 for garbage, text messages and frames before hello", async () => {
    for (const send of [
      (a: RawAgent) => a.send(new Uint8Array([0xd2, 0x84, 0x40])),
      (a: RawAgent) => a.send("hello?"),
      async (a: RawAgent) => a.send(await a.seal({ t: "ping", time: 1 } as never)),
    ]) {
      const a = await RawAgent.connect(stack.url, victim);
      await send(a);
      expect((await a.closed).code).toBe(CloseCode.MALFORMED);
    }
    await expectAudited(CloseCode.MALFORMED);
    await expectStillServing();
  });

  it("closes 4403 for a hello from a revoked host, and refuses its reconnects", async () => {
    const doomed = await enrollIdentity(stack.url, client, "doomed");
    const live = await RawAgent.connect(stack.url, doomed);
    await live.handshake();
    await client.hosts.revoke(`doomed.prod`);
    expect((await live.closed).code).toBe(CloseCode.REVOKED);
    const again = new (await import("ws")).default(
      `${stack.url.replace(/^http/, "ws")}/v1/agent/connect?host=${doomed.hostId}`,
    );
    const closed = await new Promise<number>((resolve) => again.on("close", (code) => resolve(code)));
    expect(closed).toBe(CloseCode.REVOKED);
    await expectStillServing();
  });
});
