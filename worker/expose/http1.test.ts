// The HTTP/1.1 codec: RFC 9112 framing cases, every refusal, any split of the input into pushes, and
// real responses from Node's http server on loopback.
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BodyFraming,
  chunk,
  encodeBody,
  encodeRequestHead,
  HttpError,
  LAST_CHUNK,
  type ResponseEvent,
  ResponseParser,
} from "./http1.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

/** Events with a body merged into one text, so that they compare equal whatever the splits. */
type Parsed = Exclude<ResponseEvent, { type: "body" }> | { type: "body"; text: string };

/** Feeds `input` in pieces cut at `cuts`, then end(); consecutive body events are merged so that
 * results compare equal whatever the cuts. */
function parse(method: string, input: Uint8Array, cuts: number[] = [], opts: { maxHeadBytes?: number } = {}) {
  const parser = new ResponseParser({ method, ...opts });
  const events: ResponseEvent[] = [];
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b).concat(input.length)) {
    events.push(...parser.push(input.subarray(from, cut)));
    from = cut;
  }
  events.push(...parser.end());
  const merged: Parsed[] = [];
  let body: Uint8Array[] = [];
  for (const event of [...events, undefined]) {
    if (event?.type === "body") {
      body.push(event.data);
      continue;
    }
    if (body.length) merged.push({ type: "body", text: text(Buffer.concat(body)) });
    body = [];
    if (event) merged.push(event);
  }
  return merged;
}

/** expectSplitInvariant for input that must parse. */
function parseSplit(method: string, input: Uint8Array): Parsed[] {
  const outcome = expectSplitInvariant(method, input);
  if (typeof outcome === "string") throw new Error(`unexpected refusal: ${outcome}`);
  return outcome;
}

const everyByte = (input: Uint8Array) => Array.from({ length: input.length }, (_, i) => i);

/** The same events (or the same error message) whole, one byte at a time, and at random cut points. */
function expectSplitInvariant(
  method: string,
  input: Uint8Array,
  opts: { maxHeadBytes?: number } = {},
): Parsed[] | string {
  const outcome = (cuts: number[]) => {
    try {
      return parse(method, input, cuts, opts);
    } catch (err) {
      expect(err).toBeInstanceOf(HttpError);
      return (err as Error).message;
    }
  };
  const whole = outcome([]);
  expect(outcome(everyByte(input))).toEqual(whole);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: input.length }), { maxLength: 8 }), (cuts) => {
      expect(outcome(cuts)).toEqual(whole);
    }),
    { numRuns: 50 },
  );
  return whole;
}

const head = (status: number, statusText: string, headers: [string, string][]) => ({
  type: "head",
  status,
  statusText,
  headers,
});
const body = (t: string) => ({ type: "body", text: t });
const end = { type: "end" };

describe("encodeRequestHead", () => {
  it("writes the request line, the headers in order and the empty line", () => {
    const head = encodeRequestHead("POST", "/a/b?c=d&e=%20", [
      ["Host", "example.com"],
      ["X-Many", "1"],
      ["X-Many", "2"],
      ["Connection", "close"],
    ]);
    expect(text(head)).toBe(
      "POST /a/b?c=d&e=%20 HTTP/1.1\r\nHost: example.com\r\nX-Many: 1\r\nX-Many: 2\r\nConnection: close\r\n\r\n",
    );
  });

  it("sends header values as UTF-8", () => {
    expect(encodeRequestHead("GET", "/", [["x-name", "é"]])).toEqual(
      bytes("GET / HTTP/1.1\r\nx-name: é\r\n\r\n"),
    );
  });

  it.each(["", "GE T", "GET\r\n", "GET/", "Ü"])("refuses the method %j", (method) => {
    expect(() => encodeRequestHead(method, "/", [])).toThrow(/method .* is not a token/);
  });

  it.each(["", "*", "http://example.com/", "a/b", "/a b", "/a\tb", "/a\r\nX: y", "/\0", "/\x7f", "/é"])(
    "refuses the target %j",
    (target) => {
      expect(() => encodeRequestHead("GET", target, [])).toThrow(/target .* is not origin-form/);
    },
  );

  it.each(["", "bad name", "a:b", "x\r\ny", "é"])("refuses the header name %j", (name) => {
    expect(() => encodeRequestHead("GET", "/", [[name, "v"]])).toThrow(/header name .* is not a token/);
  });

  it.each(["a\rb", "a\nb", "a\r\nX-Injected: 1", "a\0b"])("refuses the header value %j", (value) => {
    expect(() => encodeRequestHead("GET", "/", [["x", value]])).toThrow(HttpError);
    expect(() => encodeRequestHead("GET", "/", [["x", value]])).toThrow(/header x has CR, LF or NUL/);
  });
});

describe("chunk", () => {
  it("frames data with its size in hex (RFC 9112 §7.1)", () => {
    expect(text(chunk(bytes("hello")))).toBe("5\r\nhello\r\n");
    expect(text(chunk(new Uint8Array(300).fill(97)))).toBe(`12c\r\n${"a".repeat(300)}\r\n`);
    expect(text(LAST_CHUNK)).toBe("0\r\n\r\n");
  });

  it("encodes empty data to nothing, never to a last chunk", () => {
    expect(chunk(new Uint8Array(0))).toEqual(new Uint8Array(0));
  });

  it("round-trips through the parser for any data and any split", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), (pieces) => {
        const input = Buffer.concat([
          bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
          ...pieces.map(chunk),
          LAST_CHUNK,
        ]);
        const parser = new ResponseParser({ method: "GET" });
        const events = everyByte(input).flatMap((i) => parser.push(input.subarray(i, i + 1)));
        const data = events.flatMap((e) => (e.type === "body" ? [e.data] : []));
        expect(Buffer.concat(data)).toEqual(Buffer.concat(pieces));
        expect(events.at(-1)).toEqual(end);
        expect(parser.end()).toEqual([]);
      }),
    );
  });
});

/** What encodeBody yields for `pieces`, as text, or the message it fails with and what it yielded first. */
async function encoded(pieces: string[], framing: BodyFraming): Promise<{ sent: string; error?: string }> {
  async function* body() {
    for (const p of pieces) yield bytes(p);
  }
  let sent = "";
  try {
    for await (const out of encodeBody(body(), framing)) sent += text(out);
    return { sent };
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    return { sent, error: (err as Error).message };
  }
}

describe("encodeBody", () => {
  it("sends a sized body as it is, and a chunked one as chunks and the last chunk", async () => {
    expect(await encoded(["hel", "", "lo"], { kind: "length", length: 5 })).toEqual({ sent: "hello" });
    expect(await encoded([], { kind: "length", length: 0 })).toEqual({ sent: "" });
    expect(await encoded(["hel", "", "lo"], { kind: "chunked" })).toEqual({
      sent: "3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n",
    });
  });

  it("never sends a byte beyond the length: a longer body fails first (no smuggled request)", async () => {
    const smuggled = "GET /admin HTTP/1.1\r\nX-Outpost-Role: admin\r\n\r\n";
    expect(await encoded(["hel", `lo${smuggled}`], { kind: "length", length: 5 })).toEqual({
      sent: "hel",
      error: "Cannot send request body: it is longer than its Content-Length 5",
    });
  });

  it("fails a body that ends short of its length, so the connection is cut rather than finished", async () => {
    expect(await encoded(["hel"], { kind: "length", length: 5 })).toEqual({
      sent: "hel",
      error: "Cannot send request body: it ended after 3 of its Content-Length 5 bytes",
    });
  });
});

describe("ResponseParser framing", () => {
  it("reads a Content-Length body, keeping header order and repeats, names lower-cased", () => {
    const input = bytes(
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: a=1\r\nSET-COOKIE: b=2\r\nX-Ows: \t v a l \t\r\n\r\nhello",
    );
    expect(parseSplit("GET", input)).toEqual([
      head(200, "OK", [
        ["content-length", "5"],
        ["set-cookie", "a=1"],
        ["set-cookie", "b=2"],
        ["x-ows", "v a l"],
      ]),
      body("hello"),
      end,
    ]);
  });

  it("ends a Content-Length body as soon as it is complete, before end()", () => {
    const parser = new ResponseParser({ method: "GET" });
    const events = parser.push(bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
    expect(events.map((e) => e.type)).toEqual(["head", "body", "end"]);
    expect(parser.end()).toEqual([]);
  });

  it("accepts repeats of one Content-Length value and a zero length", () => {
    expect(
      parseSplit("GET", bytes("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc")),
    ).toEqual([
      head(200, "OK", [
        ["content-length", "3, 3"],
        ["content-length", "3"],
      ]),
      body("abc"),
      end,
    ]);
    expect(parseSplit("GET", bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))).toEqual([
      head(200, "OK", [["content-length", "0"]]),
      end,
    ]);
  });

  it("reads a chunked body: extensions ignored, hex in either case, trailers dropped", () => {
    const input = bytes(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5;name=value;x\r\nhello\r\n" +
        "0000A \t; ext\r\n0123456789\r\n" +
        "1b\r\n" +
        "abcdefghijklmnopqrstuvwxyz!\r\n" +
        "0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n",
    );
    expect(parseSplit("GET", input)).toEqual([
      head(200, "OK", [["transfer-encoding", "chunked"]]),
      body("hello0123456789abcdefghijklmnopqrstuvwxyz!"),
      end,
    ]);
  });

  it("treats a response with Transfer-Encoding and Content-Length as chunked (RFC 9112 §6.3 item 3)", () => {
    const input = bytes(
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    );
    expect(parseSplit("GET", input)).toEqual([
      head(200, "OK", [
        ["content-length", "100"],
        ["transfer-encoding", "Chunked"],
      ]),
      body("hi"),
      end,
    ]);
  });

  it("reads a body without framing until the upstream closes", () => {
    expect(parseSplit("GET", bytes("HTTP/1.0 200 Fine\r\nConnection: close\r\n\r\nuntil\r\nclose"))).toEqual([
      head(200, "Fine", [["connection", "close"]]),
      body("until\r\nclose"),
      end,
    ]);
    expect(parseSplit("GET", bytes("HTTP/1.1 200 OK\r\n\r\n"))).toEqual([head(200, "OK", []), end]);
  });

  it("reads no body for HEAD, 204 and 304 whatever the headers say", () => {
    const framed = "Content-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n";
    expect(parseSplit("HEAD", bytes(`HTTP/1.1 200 OK\r\n${framed}`))).toEqual([
      head(200, "OK", [
        ["content-length", "100"],
        ["transfer-encoding", "chunked"],
      ]),
      end,
    ]);
    for (const status of [204, 304]) {
      const events = parseSplit("GET", bytes(`HTTP/1.1 ${status} X\r\n${framed}`));
      expect(events.map((e) => e.type)).toEqual(["head", "end"]);
    }
  });

  it("skips interim 1xx responses and parses the final one", () => {
    const input = bytes(
      "HTTP/1.1 100 Continue\r\n\r\n" +
        "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
        "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
    );
    expect(parseSplit("POST", input)).toEqual([
      head(201, "Created", [["content-length", "2"]]),
      body("ok"),
      end,
    ]);
  });

  it("passes every byte after 101 Switching Protocols through unchanged", () => {
    const input = bytes(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nContent-Length: 1\r\n\r\n\x81\x02hi\r\n\r\nHTTP/1.1 200",
    );
    expect(parseSplit("GET", input)).toEqual([
      head(101, "Switching Protocols", [
        ["upgrade", "websocket"],
        ["content-length", "1"],
      ]),
      body("\x81\x02hi\r\n\r\nHTTP/1.1 200"),
      end,
    ]);
  });

  it("accepts a status line without a reason phrase, and an empty one", () => {
    expect(parse("GET", bytes("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n"))[0]).toEqual(
      head(404, "", [["content-length", "0"]]),
    );
    expect(parse("GET", bytes("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n"))[0]).toEqual(
      head(404, "", [["content-length", "0"]]),
    );
  });

  it("emits body slices of the pushed bytes, not copies", () => {
    const input = Buffer.concat([
      bytes("HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n"),
      new Uint8Array(200_000),
    ]);
    const parser = new ResponseParser({ method: "GET" });
    const [, first] = parser.push(input.subarray(0, 1000));
    const [second, last] = parser.push(input.subarray(1000));
    for (const event of [first, second]) {
      expect(event?.type).toBe("body");
      if (event?.type === "body") expect(event.data.buffer).toBe(input.buffer);
    }
    expect(last).toEqual(end);
  });

  it("parses a large head and body one byte at a time in linear time", () => {
    const headers = Array.from({ length: 1000 }, (_, i) => `X-Header-${i}: ${"v".repeat(40)}\r\n`).join("");
    const chunks = Array.from({ length: 2000 }, () => "10\r\n0123456789abcdef\r\n").join("");
    const input = bytes(`HTTP/1.1 200 OK\r\n${headers}Transfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`);
    const parser = new ResponseParser({ method: "GET" });
    const started = performance.now();
    let bodyBytes = 0;
    for (let i = 0; i < input.length; i++)
      for (const event of parser.push(input.subarray(i, i + 1)))
        if (event.type === "body") bodyBytes += event.data.length;
    expect(bodyBytes).toBe(32_000);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe("ResponseParser refusals", () => {
  const refusals: [string, string, RegExp, { method?: string; maxHeadBytes?: number }?][] = [
    ["HTTP/2 200 OK\r\n\r\n", "an unknown version", /bad status line "HTTP\/2 200 OK"/],
    ["HTTP/1.1 20 OK\r\n\r\n", "a two-digit status", /bad status line/],
    ["HTTP/1.1 099 OK\r\n\r\n", "a status below 100", /bad status line/],
    ["HTTP/1.1 600 OK\r\n\r\n", "a status above 599", /bad status line/],
    ["HTTP/1.1  200 OK\r\n\r\n", "two spaces", /bad status line/],
    ["http/1.1 200 OK\r\n\r\n", "a lower-case version", /bad status line/],
    ["\r\nHTTP/1.1 200 OK\r\n\r\n", "an empty first line", /bad status line ""/],
    ["SSH-2.0-OpenSSH_9.6\r\n\r\n", "another protocol", /bad status line "SSH-2.0/],
    [
      "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
      "a header without a colon",
      /header line without a colon "NoColon"/,
    ],
    ["HTTP/1.1 200 OK\r\nX: a\r\n  b\r\n\r\n", "obs-fold", /obsolete line folding/],
    ["HTTP/1.1 200 OK\r\nX : a\r\n\r\n", "space before the colon", /header name "X " is not a token/],
    ["HTTP/1.1 200 OK\r\n: a\r\n\r\n", "an empty header name", /header name "" is not a token/],
    ["HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", "NUL in a value", /header X has NUL/],
    ["HTTP/1.1 200 OK\nX: a\r\n\r\n", "a bare LF", /bare LF in the response head/],
    ["HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "a bare CR", /bare CR in the response head/],
    [
      `HTTP/1.1 200 OK\r\nX: ${"a".repeat(200)}\r\n\r\n`,
      "a head over the limit",
      /the response head is longer than 100 bytes/,
      { maxHeadBytes: 100 },
    ],
    [
      `HTTP/1.1 200 OK\r\nX: ${"a".repeat(200)}`,
      "an unfinished head over the limit",
      /the response head is longer than 100 bytes/,
      { maxHeadBytes: 100 },
    ],
    [
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      "differing Content-Lengths",
      /bad Content-Length "1, 2"/,
    ],
    [
      "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nab",
      "a Content-Length list",
      /bad Content-Length "1, 2"/,
    ],
    [
      "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
      "a signed Content-Length",
      /bad Content-Length "\+5"/,
    ],
    ["HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello", "a hex Content-Length", /bad Content-Length/],
    ["HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "an empty Content-Length", /bad Content-Length ""/],
    [
      "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
      "a huge Content-Length",
      /Content-Length 99999999999999999999 is too large/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
      "a coding besides chunked",
      /transfer coding "gzip, chunked" is not supported/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
      "a coding without chunked",
      /transfer coding "gzip" is not supported/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "a non-hex chunk size",
      /bad chunk size line "zz"/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
      "a negative chunk size",
      /bad chunk size line "-1"/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
      "an empty chunk size",
      /bad chunk size line ""/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n",
      "a 0x chunk size",
      /bad chunk size line "0x5"/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\n",
      "a chunk size after a space",
      /bad chunk size line " 5"/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
      "an overflowing chunk size",
      /chunk size "fffffffffffffffffff" is too large/,
    ],
    [
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;${"x".repeat(200)}`,
      "a chunk size line over the limit",
      /a chunk size line is longer than 100 bytes/,
      { maxHeadBytes: 100 },
    ],
    [
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: ${"x".repeat(200)}`,
      "trailers over the limit",
      /the trailer section is longer than 100 bytes/,
      { maxHeadBytes: 100 },
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhix\r\n",
      "chunk data without CRLF",
      /chunk data is not followed by CRLF/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\rx",
      "chunk data with CR alone",
      /chunk data is not followed by CRLF/,
    ],
    [
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi!",
      "a byte after the body",
      /bytes after the complete response/,
    ],
    ["HTTP/1.1 204 No Content\r\n\r\nx", "a body after 204", /bytes after the complete response/],
    [
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
      "a body after HEAD",
      /bytes after the complete response/,
      { method: "HEAD" },
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n",
      "a second response",
      /bytes after the complete response/,
    ],
    ["", "nothing at all", /closed before the response head was complete/],
    [
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
      "a truncated head",
      /closed before the response head was complete/,
    ],
    [
      "HTTP/1.1 100 Continue\r\n\r\n",
      "only an interim response",
      /closed before the response head was complete/,
    ],
    [
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
      "a truncated Content-Length body",
      /closed 2 bytes before the end of the body/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
      "a truncated chunk",
      /closed in the middle of the chunked body/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
      "a missing last chunk",
      /closed in the middle of the chunked body/,
    ],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n",
      "unfinished trailers",
      /closed in the middle of the chunked body/,
    ],
  ];

  it.each(refusals)("refuses %j (%s), whole and split", (input, _what, message, opts = {}) => {
    const outcome = expectSplitInvariant(opts.method ?? "GET", bytes(input), opts);
    expect(outcome).toMatch(message);
    expect(outcome).toMatch(/^Cannot parse response: /);
  });

  it("refuses bytes pushed after end()", () => {
    const parser = new ResponseParser({ method: "GET" });
    parser.push(bytes("HTTP/1.1 200 OK\r\n\r\n"));
    parser.end();
    expect(() => parser.push(bytes("x"))).toThrow(/bytes pushed after end\(\)/);
  });

  it("counts the limit per head, not across interim responses", () => {
    const interim = "HTTP/1.1 103 Early Hints\r\n\r\n".repeat(10);
    const events = parse("GET", bytes(`${interim}HTTP/1.1 200 OK\r\n\r\n`), [], { maxHeadBytes: 40 });
    expect(events.map((e) => e.type)).toEqual(["head", "end"]);
  });
});

describe("ResponseParser against Node's http server", () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? "";
      if (path === "/chunked") {
        res.setHeader("Set-Cookie", ["a=1", "b=2"]);
        res.write("hello ");
        res.end("world");
      } else if (path === "/length") res.writeHead(200, { "Content-Length": "11" }).end("hello world");
      else if (path === "/close") {
        res.useChunkedEncodingByDefault = false; // no length and no chunking: Node closes to end the body
        res.write("until ");
        res.end("close");
      } else if (path === "/204") res.writeHead(204).end();
      else if (path === "/304") res.writeHead(304, { ETag: '"x"' }).end();
      else res.writeHead(404).end("not found");
    });
    server.on("checkContinue", (req, res) => {
      res.writeContinue();
      res.writeEarlyHints({ link: "</a.css>; rel=preload" });
      const parts: Buffer[] = [];
      req.on("data", (part: Buffer) => parts.push(part));
      req.on("end", () =>
        res.writeHead(201, { "Content-Length": "0", "X-Got": Buffer.concat(parts).toString() }).end(),
      );
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => {
    server.close();
  });

  /** One request on its own connection; the request body goes once the first response bytes arrived
   * (as with Expect: 100-continue). Returns every byte the server sent. */
  async function exchange(method: string, target: string, headers: [string, string][], requestBody?: string) {
    const socket = connect(port, "127.0.0.1");
    const received: Buffer[] = [];
    socket.on("data", (data: Buffer) => {
      if (received.length === 0 && requestBody !== undefined) socket.write(requestBody);
      received.push(data);
    });
    socket.write(
      encodeRequestHead(method, target, [["Host", `127.0.0.1:${port}`], ["Connection", "close"], ...headers]),
    );
    await once(socket, "end");
    return new Uint8Array(Buffer.concat(received));
  }

  it("parses a chunked response with repeated Set-Cookie", async () => {
    const input = await exchange("GET", "/chunked", []);
    const events = parseSplit("GET", input);
    expect(events.length).toBe(3);
    const [first] = events;
    if (first?.type !== "head") throw new Error("no head");
    expect(first.status).toBe(200);
    expect(first.headers.filter(([n]) => n === "set-cookie")).toEqual([
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
    ]);
    expect(first.headers).toContainEqual(["transfer-encoding", "chunked"]);
    expect(events.slice(1)).toEqual([body("hello world"), end]);
  });

  it("parses a Content-Length response", async () => {
    const events = parseSplit("GET", await exchange("GET", "/length", []));
    expect(events[0]).toMatchObject({ status: 200, statusText: "OK" });
    expect((events[0] as { headers: [string, string][] }).headers).toContainEqual(["content-length", "11"]);
    expect(events.slice(1)).toEqual([body("hello world"), end]);
  });

  it("parses a close-delimited response", async () => {
    const events = parseSplit("GET", await exchange("GET", "/close", []));
    const headers = (events[0] as { headers: [string, string][] }).headers.map(([n]) => n);
    expect(headers).not.toContain("content-length");
    expect(headers).not.toContain("transfer-encoding");
    expect(events.slice(1)).toEqual([body("until close"), end]);
  });

  it("reads no body for HEAD even though Node announces one", async () => {
    const input = await exchange("HEAD", "/length", []);
    const events = parseSplit("HEAD", input);
    expect(events).toEqual([expect.objectContaining({ type: "head", status: 200 }), end]);
    // The same bytes read as a GET response wait for a body that never comes.
    expect(() => parse("GET", input)).toThrow(/closed 11 bytes before the end of the body/);
  });

  it("reads no body for 204 and 304", async () => {
    for (const status of [204, 304]) {
      const events = parseSplit("GET", await exchange("GET", `/${status}`, []));
      expect(events).toEqual([expect.objectContaining({ type: "head", status }), end]);
    }
  });

  it("skips 100 Continue and 103 Early Hints before the final response", async () => {
    const input = await exchange(
      "POST",
      "/upload",
      [
        ["Expect", "100-continue"],
        ["Content-Length", "4"],
      ],
      "data",
    );
    expect(text(input)).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 103 Early Hints\r\n/);
    const events = parseSplit("POST", input);
    expect(events).toEqual([expect.objectContaining({ type: "head", status: 201 }), end]);
    expect((events[0] as { headers: [string, string][] }).headers).toContainEqual(["x-got", "data"]);
  });
});
