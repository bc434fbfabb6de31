import { beforeAll, describe, expect, it } from "vitest";
import { FrameChannel } from "./channel.ts";
import { DataKey, KeyExchange } from "./data-key.ts";
import { COSE_MAC0_TAG, COSE_SIGN1_TAG } from "./envelope.ts";
import { ProtocolError } from "./errors.ts";
import { type ConnectionId, newConnectionId } from "./keys.ts";
import { Signer } from "./sign.ts";
import { Verifier } from "./verify.ts";

let agentSigner: Signer;
let cpSigner: Signer;

beforeAll(async () => {
  agentSigner = await Signer.fromSeed(new Uint8Array(32).fill(1));
  cpSigner = await Signer.fromSeed(new Uint8Array(32).fill(2));
});

function pair(connectionId: ConnectionId = newConnectionId()) {
  const cp = new FrameChannel({
    side: "cp",
    connectionId,
    signer: cpSigner,
    keys: new Verifier(agentSigner.publicKey),
  });
  const agent = new FrameChannel({
    side: "agent",
    connectionId,
    signer: agentSigner,
    keys: new Verifier(cpSigner.publicKey),
  });
  return { cp, agent };
}

/** Both ends agree data keys as the handshake does (hello kx, ready kx) and switch to them. */
async function keyed(connectionId: ConnectionId = newConnectionId()) {
  const { cp, agent } = pair(connectionId);
  const nonce = new Uint8Array(32).fill(9);
  const [agentKx, cpKx] = [await KeyExchange.start(), await KeyExchange.start()];
  const ctx = { connectionId, nonce, agentKx: agentKx.publicKey, cpKx: cpKx.publicKey };
  const fromAgent = await agentKx.finish(cpKx.publicKey, ctx);
  const fromCp = await cpKx.finish(agentKx.publicKey, ctx);
  expect(fromAgent).toEqual(fromCp); // both ends derive the same pair
  expect(fromAgent["agent>cp"]).not.toEqual(fromAgent["cp>agent"]); // one key per direction
  agent.useDataKeys(
    await DataKey.fromBytes(fromAgent["agent>cp"]),
    await DataKey.fromBytes(fromAgent["cp>agent"]),
  );
  cp.useDataKeys(await DataKey.fromBytes(fromCp["cp>agent"]), await DataKey.fromBytes(fromCp["agent>cp"]));
  return { cp, agent };
}

describe("FrameChannel with data keys (capability 2)", () => {
  it("MACs data frames, signs the rest, and keeps one sequence across both", async () => {
    const { cp, agent } = await keyed();
    const big = new Uint8Array(100_000).map((_, i) => i & 0xff);
    const data = await agent.seal({ t: "data", sid: 2, data: big });
    const credit = await agent.seal({ t: "credit", sid: 2, bytes: 10 });
    const small = await agent.seal({ t: "stdout", sid: 3, data: Uint8Array.of(1, 2) });
    expect([data[0], credit[0], small[0]]).toEqual([
      0xc0 | COSE_MAC0_TAG,
      0xc0 | COSE_SIGN1_TAG,
      0xc0 | COSE_MAC0_TAG,
    ]);
    expect(await cp.open(data)).toEqual({ t: "data", seq: 1, sid: 2, data: big });
    expect(await cp.open(credit)).toEqual({ t: "credit", seq: 2, sid: 2, bytes: 10 });
    expect(await cp.open(small)).toEqual({ t: "stdout", seq: 3, sid: 3, data: Uint8Array.of(1, 2) });
    await expect(cp.open(data)).rejects.toMatchObject({ code: "replay" });
  });

  it("refuses a MAC'd frame reflected, or from another connection's keys", async () => {
    const { cp, agent } = await keyed();
    const toAgent = await cp.seal({ t: "data", sid: 1, data: Uint8Array.of(7) });
    await expect(cp.open(toAgent)).rejects.toMatchObject({ code: "bad_signature" }); // the other key
    const other = await keyed();
    const stranger = await other.agent.seal({ t: "data", sid: 2, data: Uint8Array.of(7) });
    await expect(cp.open(stranger)).rejects.toMatchObject({ code: "bad_signature" });
    expect(await agent.open(toAgent)).toMatchObject({ t: "data", seq: 1 });
  });
});

describe("FrameChannel", () => {
  it("numbers, seals and opens frames both ways", async () => {
    const { cp, agent } = pair();
    const ready = await cp.seal({ t: "ready", heartbeat: 15_000 });
    const ping = await cp.seal({ t: "ping", time: 1 });
    expect(await agent.open(ready)).toEqual({ t: "ready", seq: 1, heartbeat: 15_000 });
    expect(await agent.open(ping)).toEqual({ t: "ping", seq: 2, time: 1 });
    expect(await cp.open(await agent.seal({ t: "pong", time: 1 }))).toEqual({ t: "pong", seq: 1, time: 1 });
    expect([cp.sent, cp.received, agent.sent, agent.received]).toEqual([2, 1, 1, 2]);
    await expect(agent.open(ping)).rejects.toThrow(ProtocolError); // replay
  });

  it("opens in call order even when verification finishes out of order", async () => {
    const connectionId = newConnectionId();
    const { cp } = pair(connectionId);
    let calls = 0;
    // The first lookup is slow: without chaining, seq 2 would be accepted first and seq 1 refused.
    const agent = new FrameChannel({
      side: "agent",
      connectionId,
      signer: agentSigner,
      keys: async () => {
        if (calls++ === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        return new Verifier(cpSigner.publicKey);
      },
    });
    const messages = await Promise.all([1, 2, 3].map((time) => cp.seal({ t: "ping", time })));
    const frames = await Promise.all(messages.map((m) => agent.open(m)));
    expect(frames.map((f) => f.seq)).toEqual([1, 2, 3]);
  });

  it("resumes from stored sequence numbers", async () => {
    const connectionId = newConnectionId();
    const { cp } = pair(connectionId);
    await cp.seal({ t: "ping", time: 1 });
    const second = await cp.seal({ t: "ping", time: 2 });
    const restored = new FrameChannel({
      side: "agent",
      connectionId,
      signer: agentSigner,
      keys: new Verifier(cpSigner.publicKey),
      received: 1,
    });
    expect((await restored.open(second)).seq).toBe(2);
    const resumed = new FrameChannel({
      side: "cp",
      connectionId,
      signer: cpSigner,
      keys: () => undefined,
      sent: cp.sent,
    });
    expect((await restored.open(await resumed.seal({ t: "ping", time: 3 }))).seq).toBe(3);
  });

  it("keeps going after a refused message", async () => {
    const { cp, agent } = pair();
    await expect(agent.open(new Uint8Array([1, 2, 3]))).rejects.toThrow(ProtocolError);
    expect((await agent.open(await cp.seal({ t: "ping", time: 1 }))).seq).toBe(1);
  });
});
