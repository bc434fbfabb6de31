// A hostile agent against VM consoles: what it says on a console stream reaches the client only as
// the protocol allows. Output past the client's credit ends the stream (4413) with nothing beyond it
// relayed; a mode announcement with control characters in it is refused (the agent's connection
// closes, 4400) and the client never sees it; stdin credit is never granted to a client on the
// agent's say alone for the wrong stream; its errors end the stream with 4404. The agent is the raw
// test adversary (harness/raw-agent.ts), speaking capability 10.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CborValue } from "../schema/protocol/cbor-value.ts";
import { encodeCbor } from "../schema/protocol/encode.ts";
import { _sealPayload } from "../schema/protocol/envelope.ts";
import { CloseCode } from "../schema/protocol/index.ts";
import { enrollIdentity, RawAgent } from "./harness/raw-agent.ts";
import { type Stack, startStack } from "./harness/stack.ts";
import { RawStream } from "./harness/stream-client.ts";

let stack: Stack;
let token: string;
let agent: RawAgent;
let client: Awaited<ReturnType<Stack["tenantInProd"]>>["client"];

async function connect(): Promise<void> {
  agent = await RawAgent.connect(
    stack.url,
    await enrollIdentity(stack.url, client, `evil-${Date.now() % 100000}`),
  );
  await agent.handshake();
  agent.keepAlive();
}

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("console-hostile");
  client = t.client;
  token = t.token;
  await connect();
}, 60_000);
afterAll(async () => {
  agent?.ws.close(1000);
  await stack?.close();
});

const host = () => `${agent.id.name}.prod`;

describe("a hostile agent's console", () => {
  it("gets console.open with the checked request", async () => {
    const stream = RawStream.open(stack.url, token, `${host()}/vms/web/console?credit=2048`);
    const open = await agent.receiveFrame("console.open");
    expect(open).toMatchObject({ vm: "web", mode: "write", lines: 0, follow: true, credit: 2048 });
    await agent.sendFrame({ t: "console.opened", sid: open.sid, mode: "write" } as never);
    expect(await stream.frame("attached")).toEqual({ t: "attached", mode: "write" });
    // Past the credit: the stream ends, and no byte beyond the 2048 is relayed.
    await agent.sendFrame({ t: "stdout", sid: open.sid, data: new Uint8Array(2000).fill(0x41) } as never);
    await agent.sendFrame({ t: "stdout", sid: open.sid, data: new Uint8Array(4096).fill(0x42) } as never);
    expect((await stream.closed).code).toBe(CloseCode.TOO_BIG);
    const got = stream.frames.filter((f) => f.t === "stdout").reduce((n, f) => n + f.data.length, 0);
    expect(got).toBe(2000);
    expect((await agent.receiveFrame("close", open.sid)).reason).toMatch(/credit/);
  });

  it("ends the client's stream with its error and 4404 when it says the VM is gone", async () => {
    const stream = RawStream.open(stack.url, token, `${host()}/vms/web/console?mode=read`);
    const open = await agent.receiveFrame("console.open");
    expect(open.mode).toBe("read");
    await agent.sendFrame({
      t: "error",
      sid: open.sid,
      code: "vm_stopped",
      message: "VM 'web' stopped",
    } as never);
    expect(await stream.frame("error")).toMatchObject({ code: "vm_stopped", message: "VM 'web' stopped" });
    expect((await stream.closed).code).toBe(4404);
  });

  it("cannot make a read-only client's keys reach it without granting credit, and the relay holds the client to it", async () => {
    const stream = RawStream.open(stack.url, token, `${host()}/vms/web/console?mode=read`);
    const open = await agent.receiveFrame("console.open");
    await agent.sendFrame({ t: "console.opened", sid: open.sid, mode: "read", reason: "as asked" } as never);
    await stream.frame("attached");
    stream.send({ t: "stdin", data: new TextEncoder().encode("x") });
    expect(await stream.frame("error")).toMatchObject({ code: "credit_exceeded" });
    expect((await agent.receiveFrame("close", open.sid)).reason).toMatch(/credit/);
  });

  it("is refused (4400) for a mode announcement with control characters, which the client never sees", async () => {
    const stream = RawStream.open(stack.url, token, `${host()}/vms/web/console`);
    const open = await agent.receiveFrame("console.open");
    // Sealed by hand: the protocol's own encoder would refuse to write it.
    const frame = new Map<string, CborValue>([
      ["t", "console.opened"],
      ["seq", 1_000_000],
      ["sid", open.sid],
      ["mode", "read"],
      ["reason", "\u001b]0;owned\u0007\u001b[2J"],
    ]);
    agent.send(
      await _sealPayload(encodeCbor(frame), agent.id.signer, {
        connectionId: agent.conn,
        direction: "agent>cp",
      }),
    );
    expect((await agent.closed).code).toBe(CloseCode.MALFORMED);
    await stream.closed;
    expect(stream.frames.some((f) => f.t === "attached")).toBe(false);
    await connect();
  });
});
