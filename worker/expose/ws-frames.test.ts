// The WebSocket frame codec: RFC 6455 examples, every refusal, any split of the input into pushes, and
// a real `ws` server on loopback reached through our own handshake.
import { once } from "node:events";
import { type AddressInfo, connect, type Socket } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { encodeRequestHead, ResponseParser } from "./http1.ts";
import {
  acceptKey,
  closePayload,
  encodeFrame,
  FrameParser,
  newWebSocketKey,
  OPCODE,
  type WsEvent,
  WsProtocolError,
} from "./ws-frames.ts";

const bytes = (...values: number[]) => new Uint8Array(values);
const utf8 = (text: string) => new TextEncoder().encode(text);
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

type ParserOpts = ConstructorParameters<typeof FrameParser>[0];

function parse(input: Uint8Array, cuts: number[] = [], opts?: ParserOpts): WsEvent[] {
  const parser = new FrameParser(opts);
  const events: WsEvent[] = [];
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b).concat(input.length)) {
    events.push(...parser.push(input.subarray(from, cut)));
    from = cut;
  }
  return events;
}

/** The same events (or the same error) whole, one byte at a time, and at random cut points. */
function expectSplitInvariant(
  input: Uint8Array,
  opts?: ParserOpts,
): WsEvent[] | { code: number; message: string } {
  const outcome = (cuts: number[]) => {
    try {
      return parse(input, cuts, opts);
    } catch (err) {
      if (!(err instanceof WsProtocolError)) throw err;
      return { code: err.code, message: err.message };
    }
  };
  const whole = outcome([]);
  expect(outcome(Array.from({ length: input.length }, (_, i) => i))).toEqual(whole);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: input.length }), { maxLength: 8 }), (cuts) => {
      expect(outcome(cuts)).toEqual(whole);
    }),
    { numRuns: 30 },
  );
  return whole;
}

// RFC 6455 §5.7.
const HELLO = bytes(0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f);
const HELLO_MASKED = bytes(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58);
const HEL = bytes(0x01, 0x03, 0x48, 0x65, 0x6c);
const LO = bytes(0x80, 0x02, 0x6c, 0x6f);
const PING_HELLO = bytes(0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f);
const PONG_HELLO_MASKED = bytes(0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58);

describe("handshake keys", () => {
  it("computes the RFC 6455 §1.3 sample accept value", async () => {
    expect(await acceptKey("dGhlIHNhbXBsZSBub25jZQ==")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  it("makes fresh keys of 16 random bytes", () => {
    const keys = new Set(Array.from({ length: 100 }, newWebSocketKey));
    expect(keys.size).toBe(100);
    for (const key of keys) expect(Buffer.from(key, "base64").length).toBe(16);
  });
});

describe("encodeFrame", () => {
  it("writes the RFC 6455 §5.7 unmasked examples", () => {
    expect(encodeFrame(OPCODE.text, utf8("Hello"), { mask: false })).toEqual(HELLO);
    expect(encodeFrame(OPCODE.text, utf8("Hel"), { fin: false, mask: false })).toEqual(HEL);
    expect(encodeFrame(OPCODE.continuation, utf8("lo"), { mask: false })).toEqual(LO);
    expect(encodeFrame(OPCODE.ping, utf8("Hello"), { mask: false })).toEqual(PING_HELLO);
    const big = new Uint8Array(65536).fill(7);
    expect(encodeFrame(OPCODE.binary, big.subarray(0, 256), { mask: false }).subarray(0, 4)).toEqual(
      bytes(0x82, 0x7e, 0x01, 0x00),
    );
    expect(encodeFrame(OPCODE.binary, big, { mask: false }).subarray(0, 10)).toEqual(
      bytes(0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0),
    );
  });

  it("masks by default with a fresh random key", () => {
    const a = encodeFrame(OPCODE.text, utf8("Hello"));
    const b = encodeFrame(OPCODE.text, utf8("Hello"));
    expect(a.length).toBe(11);
    expect(a.subarray(0, 2)).toEqual(bytes(0x81, 0x85));
    expect(a.subarray(2, 6)).not.toEqual(b.subarray(2, 6));
    expect(parse(a, [], { expectMasked: true })).toEqual([{ type: "text", data: "Hello" }]);
  });

  it.each([
    [0, 2],
    [125, 2],
    [126, 4],
    [65535, 4],
    [65536, 10],
  ])("uses the shortest length form for %i bytes", (length, header) => {
    expect(encodeFrame(OPCODE.binary, new Uint8Array(length), { mask: false }).length).toBe(header + length);
    expect(encodeFrame(OPCODE.binary, new Uint8Array(length)).length).toBe(header + 4 + length);
  });

  it("round-trips through the parser for any payload, opcode, masking and split", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 70_000 }),
        fc.constantFrom(OPCODE.binary, OPCODE.ping, OPCODE.pong),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 6 }),
        (payload, opcode, mask, cuts) => {
          const data = opcode === OPCODE.binary ? payload : payload.subarray(0, 125);
          const frame = encodeFrame(opcode, data, { mask });
          const type = opcode === OPCODE.binary ? "binary" : opcode === OPCODE.ping ? "ping" : "pong";
          const events = parse(
            frame,
            cuts.map((c) => c % (frame.length + 1)),
            { expectMasked: mask },
          );
          expect(events).toEqual([{ type, data }]);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("refuses an unknown opcode and a control frame that is long or fragmented", () => {
    expect(() => encodeFrame(3, new Uint8Array(0))).toThrow(/unknown opcode 3/);
    expect(() => encodeFrame(OPCODE.ping, new Uint8Array(126))).toThrow(/at most 125 bytes/);
    expect(() => encodeFrame(OPCODE.close, new Uint8Array(0), { fin: false })).toThrow(/unfragmented/);
    expect(() => encodeFrame(OPCODE.ping, new Uint8Array(0), { fin: false })).toThrow(RangeError);
  });
});

describe("closePayload", () => {
  it("writes the code big-endian, then the reason", () => {
    expect(closePayload(1000, "bye")).toEqual(bytes(0x03, 0xe8, 0x62, 0x79, 0x65));
    expect(closePayload(4999, "")).toEqual(bytes(0x13, 0x87));
  });

  it.each([
    ["ASCII", "a", 123],
    ["2-byte", "é", 122],
    ["3-byte", "€", 123],
    ["4-byte", "😀", 120],
  ])("cuts a long %s reason on a character boundary", (_what, char, reasonBytes) => {
    const payload = closePayload(1001, char.repeat(200));
    expect(payload.length).toBe(2 + reasonBytes);
    const [event] = parse(encodeFrame(OPCODE.close, payload, { mask: false }));
    expect(event).toEqual({
      type: "close",
      code: 1001,
      reason: char.repeat(reasonBytes / utf8(char).length),
    });
  });

  it.each([0, 999, 1004, 1005, 1006, 1015, 2999, 5000])("refuses the close code %i", (code) => {
    expect(() => closePayload(code, "")).toThrow(RangeError);
  });
});

describe("FrameParser", () => {
  const frame = (opcode: number, payload: Uint8Array | string, opts: { fin?: boolean } = {}) =>
    encodeFrame(opcode, typeof payload === "string" ? utf8(payload) : payload, { mask: false, ...opts });

  const valid: [string, Uint8Array, WsEvent[], ParserOpts?][] = [
    ["an unmasked text frame (RFC 6455 §5.7)", HELLO, [{ type: "text", data: "Hello" }]],
    [
      "a masked text frame (RFC 6455 §5.7)",
      HELLO_MASKED,
      [{ type: "text", data: "Hello" }],
      { expectMasked: true },
    ],
    ["a fragmented text message (RFC 6455 §5.7)", concat(HEL, LO), [{ type: "text", data: "Hello" }]],
    ["a ping (RFC 6455 §5.7)", PING_HELLO, [{ type: "ping", data: utf8("Hello") }]],
    [
      "a masked pong (RFC 6455 §5.7)",
      PONG_HELLO_MASKED,
      [{ type: "pong", data: utf8("Hello") }],
      { expectMasked: true },
    ],
    [
      "control frames between fragments",
      concat(HEL, PING_HELLO, frame(OPCODE.pong, ""), LO),
      [
        { type: "ping", data: utf8("Hello") },
        { type: "pong", data: new Uint8Array(0) },
        { type: "text", data: "Hello" },
      ],
    ],
    [
      "a binary message in three fragments, one empty",
      concat(
        frame(OPCODE.binary, bytes(1, 2), { fin: false }),
        frame(0, bytes(), { fin: false }),
        frame(0, bytes(3)),
      ),
      [{ type: "binary", data: bytes(1, 2, 3) }],
    ],
    [
      "a character split between fragments",
      concat(frame(OPCODE.text, bytes(0xc3), { fin: false }), frame(0, bytes(0xa9))),
      [{ type: "text", data: "é" }],
    ],
    [
      "empty messages",
      concat(frame(OPCODE.text, ""), frame(OPCODE.binary, "")),
      [
        { type: "text", data: "" },
        { type: "binary", data: new Uint8Array(0) },
      ],
    ],
    [
      "a 16-bit length",
      frame(OPCODE.binary, new Uint8Array(300).fill(9)),
      [{ type: "binary", data: new Uint8Array(300).fill(9) }],
    ],
    [
      "a non-minimal 64-bit length",
      concat(bytes(0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 3), bytes(1, 2, 3)),
      [{ type: "binary", data: bytes(1, 2, 3) }],
    ],
    [
      "a message of exactly the limit",
      frame(OPCODE.binary, new Uint8Array(10)),
      [{ type: "binary", data: new Uint8Array(10) }],
      { maxMessageBytes: 10 },
    ],
    ["a close without payload", frame(OPCODE.close, ""), [{ type: "close", reason: "" }]],
    [
      "a close with a code",
      frame(OPCODE.close, closePayload(1001, "")),
      [{ type: "close", code: 1001, reason: "" }],
    ],
    [
      "a close with a reason",
      frame(OPCODE.close, closePayload(4000, "gone ✓")),
      [{ type: "close", code: 4000, reason: "gone ✓" }],
    ],
  ];

  it.each(valid)("parses %s, whole and split", (_what, input, events, opts) => {
    expect(expectSplitInvariant(input, opts)).toEqual(events);
  });

  const invalid: [string, Uint8Array, number, RegExp, ParserOpts?][] = [
    ["RSV1", bytes(0xc1, 0x00), 1002, /RSV bits are set/],
    ["RSV3", bytes(0x91, 0x00), 1002, /RSV bits are set/],
    ["opcode 3", bytes(0x83, 0x00), 1002, /unknown opcode 3/],
    ["opcode 0xB", bytes(0x8b, 0x00), 1002, /unknown opcode 11/],
    ["a fragmented ping", bytes(0x09, 0x00), 1002, /fragmented control frame/],
    ["a fragmented close", bytes(0x08, 0x00), 1002, /fragmented control frame/],
    [
      "a ping of 126 bytes",
      concat(bytes(0x89, 0x7e, 0, 126), new Uint8Array(126)),
      1002,
      /control frame of 126 bytes/,
    ],
    ["a masked server frame", HELLO_MASKED, 1002, /server frames must not be masked/],
    ["an unmasked client frame", HELLO, 1002, /client frames must be masked/, { expectMasked: true }],
    [
      "a 64-bit length with its top bit set",
      bytes(0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1),
      1002,
      /most significant bit/,
    ],
    ["a continuation with nothing to continue", LO, 1002, /continuation frame with no message/],
    [
      "a new message inside a fragmented one",
      concat(HEL, HELLO),
      1002,
      /new message before the previous one/,
    ],
    [
      "a frame over the limit",
      frame(OPCODE.binary, new Uint8Array(11)),
      1009,
      /at least 11 bytes is over the limit of 10/,
      { maxMessageBytes: 10 },
    ],
    [
      "fragments over the limit",
      concat(frame(OPCODE.text, "abcdef", { fin: false }), frame(0, "ghijk")),
      1009,
      /at least 11 bytes is over the limit of 10/,
      { maxMessageBytes: 10 },
    ],
    ["a 2^53-byte length", bytes(0x82, 0x7f, 0, 0x20, 0, 0, 0, 0, 0, 0), 1009, /over the limit of 1048576/],
    [
      "invalid UTF-8 in a text message",
      frame(OPCODE.text, bytes(0xc3, 0x28)),
      1007,
      /text message is not valid UTF-8/,
    ],
    [
      "a truncated character at the end of a message",
      concat(frame(OPCODE.text, bytes(0xe2, 0x82), { fin: false }), frame(0, "")),
      1007,
      /not valid UTF-8/,
    ],
    ["a close with one payload byte", frame(OPCODE.close, bytes(0x03)), 1002, /1-byte payload/],
    [
      "close code 1005",
      frame(OPCODE.close, bytes(0x03, 0xed)),
      1002,
      /close code 1005 is not one a peer may send/,
    ],
    ["close code 999", frame(OPCODE.close, bytes(0x03, 0xe7)), 1002, /close code 999/],
    ["close code 5000", frame(OPCODE.close, bytes(0x13, 0x88)), 1002, /close code 5000/],
    [
      "an invalid UTF-8 close reason",
      frame(OPCODE.close, bytes(0x03, 0xe8, 0xff)),
      1007,
      /close reason is not valid UTF-8/,
    ],
    ["a frame after close", concat(frame(OPCODE.close, ""), PING_HELLO), 1002, /data after a close frame/],
  ];

  it.each(invalid)("refuses %s with its close code, whole and split", (_what, input, code, message, opts) => {
    const outcome = expectSplitInvariant(input, opts);
    expect(outcome).toMatchObject({ code });
    expect((outcome as { message: string }).message).toMatch(message);
    expect((outcome as { message: string }).message).toMatch(/^Invalid frame: /);
  });

  it("refuses an oversized frame from its header, before the payload arrives", () => {
    const parser = new FrameParser({ maxMessageBytes: 1000 });
    expect(() => parser.push(bytes(0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0))).toThrow(WsProtocolError);
  });

  it("parses a 256 KiB message one byte at a time in linear time", () => {
    const payload = new Uint8Array(256 * 1024).map((_, i) => i);
    const input = frame(OPCODE.binary, payload);
    const parser = new FrameParser();
    const started = performance.now();
    const events = Array.from({ length: input.length }, (_, i) =>
      parser.push(input.subarray(i, i + 1)),
    ).flat();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(events.length).toBe(1);
    expect(events[0]?.type === "binary" && Buffer.from(payload).equals(events[0].data)).toBe(true);
  });
});

describe("against a ws WebSocketServer", () => {
  let server: WebSocketServer;
  let port: number;
  let serverClosed: (close: { code: number; reason: string }) => void = () => {};

  beforeAll(async () => {
    server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    server.on("connection", (ws: WebSocket) => {
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        const command = isBinary ? "" : data.toString();
        if (command === "send fragments") {
          ws.send("Hel", { fin: false });
          ws.send("lo ", { fin: false });
          ws.send("world", { fin: true });
        } else if (command === "send ping") ws.ping("are you there");
        else if (command === "send 1 MiB + 1") ws.send(Buffer.alloc(1024 * 1024 + 1));
        else ws.send(data, { binary: isBinary });
      });
      ws.on("error", () => {}); // protocol errors: ws answers them with a close frame, tested below
      ws.on("close", (code, reason) => serverClosed({ code, reason: reason.toString() }));
    });
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => {
    server.close();
  });

  /** A client that does the opening handshake itself (http1.ts + acceptKey) and then speaks frames. */
  async function open(opts?: ParserOpts) {
    const socket: Socket = connect(port, "127.0.0.1");
    const key = newWebSocketKey();
    const http = new ResponseParser({ method: "GET" });
    const frames = new FrameParser(opts);
    const events: (WsEvent | { type: "head"; status: number; accept?: string } | { type: "end" })[] = [];
    let failure: unknown;
    let wake = () => {};
    const take = (data: Uint8Array, ended: boolean) => {
      try {
        for (const event of ended ? http.end() : http.push(data)) {
          if (event.type === "body") events.push(...frames.push(event.data));
          else if (event.type === "head")
            events.push({
              type: "head",
              status: event.status,
              accept: event.headers.find(([n]) => n === "sec-websocket-accept")?.[1],
            });
          else events.push(event);
        }
      } catch (err) {
        failure = err;
      }
      wake();
    };
    socket.on("data", (data: Buffer) => take(new Uint8Array(data), false));
    socket.on("end", () => take(new Uint8Array(0), true));
    socket.write(
      encodeRequestHead("GET", "/chat", [
        ["Host", `127.0.0.1:${port}`],
        ["Upgrade", "websocket"],
        ["Connection", "Upgrade"],
        ["Sec-WebSocket-Key", key],
        ["Sec-WebSocket-Version", "13"],
      ]),
    );
    const next = async (count = 1) => {
      while (events.length < count && !failure) await new Promise<void>((resolve) => (wake = resolve));
      if (failure) throw failure;
      return events.splice(0, count);
    };
    const [head] = await next();
    expect(head).toEqual({ type: "head", status: 101, accept: await acceptKey(key) });
    const send = (
      opcode: number,
      payload: Uint8Array | string,
      frameOpts?: { fin?: boolean; mask?: boolean },
    ) => socket.write(encodeFrame(opcode, typeof payload === "string" ? utf8(payload) : payload, frameOpts));
    return { send, next, socket };
  }

  it("echoes text and binary messages our masked frames carry", async () => {
    const client = await open();
    client.send(OPCODE.text, "héllo ✓");
    client.send(OPCODE.binary, bytes(0, 1, 2, 255));
    expect(await client.next(2)).toEqual([
      { type: "text", data: "héllo ✓" },
      { type: "binary", data: bytes(0, 1, 2, 255) },
    ]);
    client.socket.destroy();
  });

  it("reassembles a message we send in fragments, with a ping between them", async () => {
    const client = await open();
    client.send(OPCODE.text, "frag", { fin: false });
    client.send(OPCODE.ping, "between");
    client.send(OPCODE.continuation, "mented", { fin: false });
    client.send(OPCODE.continuation, "!");
    expect(await client.next(2)).toEqual([
      { type: "pong", data: utf8("between") },
      { type: "text", data: "fragmented!" },
    ]);
    client.socket.destroy();
  });

  it("reassembles a message the server sends in fragments", async () => {
    const client = await open();
    client.send(OPCODE.text, "send fragments");
    expect(await client.next()).toEqual([{ type: "text", data: "Hello world" }]);
    client.socket.destroy();
  });

  it("receives the server's ping", async () => {
    const client = await open();
    client.send(OPCODE.text, "send ping");
    expect(await client.next()).toEqual([{ type: "ping", data: utf8("are you there") }]);
    client.send(OPCODE.pong, "yes");
    client.socket.destroy();
  });

  it("round-trips a 70 KB text message (64-bit length)", async () => {
    const client = await open();
    const text = "é".repeat(35_000);
    client.send(OPCODE.text, text);
    expect(await client.next()).toEqual([{ type: "text", data: text }]);
    client.socket.destroy();
  });

  it("round-trips a 1 MiB + 1 message under a 2 MiB limit", async () => {
    const client = await open({ maxMessageBytes: 2 * 1024 * 1024 });
    const data = new Uint8Array(1024 * 1024 + 1).map((_, i) => i * 7);
    client.send(OPCODE.binary, data);
    const [event] = await client.next();
    // Buffer.equals: vitest's deep equality is slow on a million elements.
    expect(event?.type === "binary" && Buffer.from(data).equals(event.data)).toBe(true);
    client.socket.destroy();
  });

  it("refuses the server's 1 MiB + 1 message under the default limit with 1009", async () => {
    const client = await open();
    client.send(OPCODE.text, "send 1 MiB + 1");
    await expect(client.next()).rejects.toMatchObject({ name: "WsProtocolError", code: 1009 });
    client.socket.destroy();
  });

  it("closes cleanly: the server echoes our close code and reason, then the stream ends", async () => {
    const client = await open();
    const closed = new Promise((resolve) => (serverClosed = resolve));
    client.send(OPCODE.close, closePayload(4001, "done here"));
    expect(await client.next(2)).toEqual([
      { type: "close", code: 4001, reason: "done here" },
      { type: "end" },
    ]);
    expect(await closed).toEqual({ code: 4001, reason: "done here" });
  });

  it("is told 1002 by the server when it sends an unmasked frame", async () => {
    const client = await open();
    client.send(OPCODE.text, "not masked", { mask: false });
    expect(await client.next()).toEqual([{ type: "close", code: 1002, reason: "" }]);
    client.socket.destroy();
  });
});
