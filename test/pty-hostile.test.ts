// A hostile agent against terminals: output beyond the client's credit ends the pty stream (4413) with
// nothing past the credit relayed or recorded, and a flood within credit is recorded only up to the
// session's cap, with a marker saying so. The agent is the raw test adversary (harness/raw-agent.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloseCode } from "../schema/protocol/index.ts";
import { encodePtySpec } from "../schema/protocol/pty-spec.ts";
import type { Outpost } from "../sdk/index.ts";
import { eventually } from "./harness/agent.ts";
import { enrollIdentity, RawAgent } from "./harness/raw-agent.ts";
import { type Stack, startStack } from "./harness/stack.ts";
import { RawStream } from "./harness/stream-client.ts";

let stack: Stack;
let client: Outpost;
let token: string;
let agent: RawAgent;

const CHUNK = 256 * 1024;
/** worker/recordings/recorder.ts MAX_RECORDING_BYTES. */
const CAP = 8 * 1024 * 1024;

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("pty-hostile");
  client = t.client;
  token = t.token;
  agent = await RawAgent.connect(stack.url, await enrollIdentity(stack.url, client, "flooder"));
  await agent.handshake();
  agent.keepAlive();
}, 60_000);
afterAll(async () => {
  agent?.ws.close(1000);
  await stack?.close();
});

const pty = (credit: number) =>
  RawStream.open(stack.url, token, `flooder.prod/pty?spec=${encodePtySpec({ cols: 80, rows: 24, credit })}`);

describe("a hostile agent's terminal output", () => {
  it("ends the stream past the client's credit; nothing beyond it is relayed or recorded", async () => {
    const flooded = pty(1024);
    const open = await agent.receiveFrame("pty.open");
    expect(open).toMatchObject({ cols: 80, rows: 24, credit: 1024 });
    const { session } = await flooded.frame("started");
    await agent.sendFrame({
      t: "stdout",
      sid: open.sid,
      data: new TextEncoder().encode("x".repeat(512)),
    } as never);
    for (let i = 0; i < 32; i++)
      void agent.sendFrame({ t: "stdout", sid: open.sid, data: new Uint8Array(CHUNK).fill(0x41) } as never);
    const told = await agent.receiveFrame("close", open.sid);
    expect(told.reason).toMatch(/exceeds the 512 bytes of credit the client granted/);
    expect((await flooded.closed).code).toBe(CloseCode.TOO_BIG);
    const got = flooded.frames.filter((f) => f.t === "stdout").reduce((n, f) => n + f.data.length, 0);
    expect(got).toBe(512);
    const cast = await eventually(() => client.recording(session));
    const output = cast
      .trimEnd()
      .split("\n")
      .slice(1)
      .map((l) => JSON.parse(l) as [number, string, string])
      .filter(([, c]) => c === "o")
      .map(([, , d]) => d)
      .join("");
    expect(output).toBe("x".repeat(512));
  });

  it("records a flood within credit only up to the session's cap, and says so", async () => {
    const flooded = pty(32 * 1024 * 1024);
    const open = await agent.receiveFrame("pty.open");
    const { session } = await flooded.frame("started");
    // 10 MiB of output with an escape sequence in each chunk: all relayed, 8 MiB recorded.
    const chunk = new TextEncoder().encode(`\u001b[31m${"A".repeat(CHUNK - 16)}\u001b[0m`);
    for (let i = 0; i < 40; i++) await agent.sendFrame({ t: "stdout", sid: open.sid, data: chunk } as never);
    await agent.sendFrame({ t: "exit", sid: open.sid, code: 0 } as never);
    expect(await flooded.frame("exit")).toMatchObject({ code: 0 });
    const got = flooded.frames.filter((f) => f.t === "stdout").reduce((n, f) => n + f.data.length, 0);
    expect(got).toBe(40 * chunk.length);
    const cast = await eventually(async () => {
      const text = await client.recording(session);
      if (!/recording stopped/.test(text)) throw new Error("not finished yet");
      return text;
    }, 30_000);
    expect(new TextEncoder().encode(cast).length).toBeLessThanOrEqual(CAP);
    expect(new TextEncoder().encode(cast).length).toBeGreaterThan(CAP - 2 * CHUNK);
    const lines = cast.trimEnd().split("\n");
    expect(JSON.parse(lines[0]!)).toMatchObject({ version: 2 });
    const last = JSON.parse(lines.at(-1)!) as [number, string, string];
    expect(last[1]).toBe("m");
    expect(last[2]).toMatch(/recording stopped/);
    // Escape sequences are JSON-escaped inside the file, never raw in it.
    expect(cast.includes("\u001b")).toBe(false);
  }, 60_000);
});
