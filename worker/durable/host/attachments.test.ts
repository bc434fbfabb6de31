// The write-back rule of Attachments: changes are seen at once in memory and reach the socket's
// attachment once per FLUSH_MS, however many there were. The platform's socket cannot be made outside
// a Durable Object, so FakeSocket stands in for it: it only records what serializeAttachment was given
// (a structured clone, as the platform keeps).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type AgentAttachment, Attachments } from "./attachments.ts";

class FakeSocket {
  written: unknown[] = [];
  closed = false;
  serializeAttachment(value: unknown): void {
    if (this.closed) throw new TypeError("socket closed");
    this.written.push(structuredClone(value));
  }
  deserializeAttachment(): unknown {
    return structuredClone(this.written.at(-1));
  }
}

const agent = (): AgentAttachment => ({
  role: "agent",
  conn: "conn_test" as AgentAttachment["conn"],
  nonce: "",
  phase: "ready",
  in: 0,
  out: 0,
  since: 0,
  seen: 0,
  dbSeen: 0,
});

/** Two sockets with fresh records in a new Attachments. */
function setUp() {
  const att = new Attachments();
  const a = new FakeSocket();
  const b = new FakeSocket();
  att.create(ws(a), agent());
  att.create(ws(b), agent());
  return { att, a, b };
}
/** The fake as the platform's type. */
const ws = (s: FakeSocket) => s as unknown as WebSocket;
/** Moves a socket's `out` on by one, or to `set`. */
const addOut = (att: Attachments, s: FakeSocket, set?: number) =>
  att.update<AgentAttachment>(ws(s), (x) => {
    x.out = set ?? x.out + 1;
  });

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("Attachments", () => {
  it("shows changes at once and writes each socket's record back once per 50 ms", () => {
    const { att, a, b } = setUp();
    for (let i = 0; i < 100; i++) addOut(att, a);
    att.update<AgentAttachment>(ws(b), (x) => {
      x.in = 7;
    });
    expect((att.get(ws(a)) as AgentAttachment).out).toBe(100);
    expect(a.written).toHaveLength(1); // only create's
    vi.advanceTimersByTime(49);
    expect(a.written).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(a.written).toHaveLength(2);
    expect((a.written[1] as AgentAttachment).out).toBe(100);
    expect((b.written[1] as AgentAttachment).in).toBe(7);
    // Nothing changed since: no more writes.
    vi.advanceTimersByTime(500);
    expect(a.written).toHaveLength(2);
    // A later change is written in the next window, and a new object reads it from the socket.
    addOut(att, a, 101);
    vi.advanceTimersByTime(50);
    expect((new Attachments().get(ws(a)) as AgentAttachment).out).toBe(101);
  });

  it("skips a socket that closed meanwhile and still writes the others", () => {
    const { att, a: gone, b: live } = setUp();
    addOut(att, gone, 1);
    addOut(att, live, 2);
    gone.closed = true;
    vi.advanceTimersByTime(50);
    expect((live.written.at(-1) as AgentAttachment).out).toBe(2);
    // The write-back is over: a new change schedules a new one.
    addOut(att, live, 3);
    vi.advanceTimersByTime(50);
    expect((live.written.at(-1) as AgentAttachment).out).toBe(3);
  });
});
