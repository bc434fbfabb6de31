// The HostDO's stream table in workerd: stream ids are odd, increasing and per agent connection (kept
// in the agent socket's attachment); a stream's socket is found by its id; when a connection goes,
// exactly its streams end, with host_disconnected and 1011; revoking a key ends exactly its streams.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { decodeServerFrame } from "../../schema/protocol/client-frames.ts";

const fixture = (name: string) => env.STREAM_TABLE.get(env.STREAM_TABLE.idFromName(name));

/** A socket to the fixture, with what it received and how it closed. */
async function open(name: string, query: string) {
  const res = await fixture(name).fetch(`https://fixture/?${query}`, { headers: { upgrade: "websocket" } });
  const ws = res.webSocket!;
  ws.binaryType = "arraybuffer";
  ws.accept();
  const frames: ReturnType<typeof decodeServerFrame>[] = [];
  const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
  ws.addEventListener("message", (e) =>
    frames.push(decodeServerFrame(new Uint8Array(e.data as ArrayBuffer))),
  );
  return { ws, frames, closed };
}

const within = <T>(p: Promise<T>, ms = 2000) =>
  Promise.race([p, new Promise<"open">((r) => setTimeout(() => r("open"), ms))]);

describe("StreamTable in workerd", () => {
  it("allocates odd, increasing stream ids per connection and finds each stream's socket", async () => {
    await open("sids", "agent=conn_a");
    for (let i = 0; i < 3; i++) await open("sids", "client=conn_a");
    const streams = await fixture("sids").streams();
    expect(streams.map((s) => s.sid)).toEqual([1, 3, 5]);
    expect(streams.every((s) => s.found)).toBe(true);
  });

  it("ends every stream of a connection that went, and only those", async () => {
    await open("gone", "agent=conn_a");
    await open("gone", "agent=conn_b");
    const onA = [await open("gone", "client=conn_a"), await open("gone", "client=conn_a")];
    const onB = await open("gone", "client=conn_b");
    await fixture("gone").endAll("conn_a", "host disconnected: heartbeats stopped");
    for (const s of onA) {
      expect(await within(s.closed)).toBe(1011);
      expect(s.frames.at(-1)).toEqual({
        t: "error",
        code: "host_disconnected",
        message: "host disconnected: heartbeats stopped",
      });
    }
    expect(await within(onB.closed, 300)).toBe("open");
    const live = (await fixture("gone").streams()).filter((s) => !s.done);
    expect(live).toEqual([{ sid: 1, conn: "conn_b", done: false, found: true }]);
  });

  it("ends exactly the streams of a revoked key and tells the agent to stop them", async () => {
    await open("revoke", "agent=conn_a");
    const mine = await open("revoke", "client=conn_a&actor=key:gone");
    const other = await open("revoke", "client=conn_a&actor=key:kept");
    await fixture("revoke").endOf("key:gone", "API key gone was revoked");
    expect(await within(mine.closed)).toBe(4403);
    expect(mine.frames.at(-1)).toMatchObject({ t: "error", code: "revoked" });
    expect(await within(other.closed, 300)).toBe("open");
    expect(await fixture("revoke").toAgent()).toEqual([
      { t: "close", sid: 1, reason: "API key gone was revoked" },
    ]);
  });
});
