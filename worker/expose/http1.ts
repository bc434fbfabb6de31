// HTTP/1.1, client side, over a raw byte stream (RFC 9112).
//
// Why: an exposed service is reached over a TCP stream that the host opens for us, and fetch() cannot
// be given a stream to speak over. So the Worker writes the request head itself and parses the response
// here. One request per connection: the proxy sends `Connection: close` (except for upgrades), so
// there is no keep-alive and no pipelining to handle; bytes after a complete response are an error.
//
// Pure and runtime-neutral: Uint8Array and TextEncoder/TextDecoder only.

export class HttpError extends Error {
  override name = "HttpError";
}

export type ResponseEvent =
  | { type: "head"; status: number; statusText: string; headers: [string, string][] }
  | { type: "body"; data: Uint8Array }
  | { type: "end" };

// ## Request

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/; // RFC 9110 §5.6.2
const ORIGIN_FORM = /^\/[\x21-\x7e]*$/; // RFC 9112 §3.2.1: absolute-path [ "?" query ], printable ASCII
const FORBIDDEN_IN_VALUE = /[\r\n\0]/; // RFC 9110 §5.5: CR, LF and NUL would split or end the head

/** The request line and header section, ending with the empty line. Header text is sent as UTF-8. */
export function encodeRequestHead(
  method: string,
  target: string,
  headers: Iterable<[string, string]>,
): Uint8Array {
  if (!TOKEN.test(method))
    throw new HttpError(`Cannot encode request: method ${show(method)} is not a token`);
  if (!ORIGIN_FORM.test(target))
    throw new HttpError(
      `Cannot encode request: target ${show(target)} is not origin-form ("/" then printable ASCII)`,
    );
  let head = `${method} ${target} HTTP/1.1\r\n`;
  for (const [name, value] of headers) {
    if (!TOKEN.test(name))
      throw new HttpError(`Cannot encode request: header name ${show(name)} is not a token`);
    if (FORBIDDEN_IN_VALUE.test(value))
      throw new HttpError(`Cannot encode request: header ${name} has CR, LF or NUL in its value`);
    head += `${name}: ${value}\r\n`;
  }
  return encoder.encode(head + "\r\n");
}

/** One chunk of the chunked transfer coding (RFC 9112 §7.1). Empty data encodes to nothing: a chunk of
 * size 0 would read as the last chunk. */
export function chunk(data: Uint8Array): Uint8Array {
  if (data.length === 0) return new Uint8Array(0);
  const size = encoder.encode(data.length.toString(16) + "\r\n");
  const out = new Uint8Array(size.length + data.length + 2);
  out.set(size);
  out.set(data, size.length);
  out.set(CRLF, size.length + data.length);
  return out;
}

/** The last chunk with an empty trailer section: ends a chunked body. */
export const LAST_CHUNK: Uint8Array = new TextEncoder().encode("0\r\n\r\n");

/** How a request body is delimited on the wire (RFC 9112 §6.2, §6.3): the sender's choice, never the
 * caller's header passed along. */
export type BodyFraming = { kind: "length"; length: number } | { kind: "chunked" };

/**
 * The bytes to send for `body` under `framing`. With a length, exactly that many bytes go out: a body
 * that turns out longer or shorter is an HttpError before anything beyond the length is yielded, so
 * the receiver never reads bytes after the body as a second message (request smuggling); the caller
 * must then break the connection, since the message cannot be completed.
 */
export async function* encodeBody(
  body: AsyncIterable<Uint8Array>,
  framing: BodyFraming,
): AsyncGenerator<Uint8Array> {
  let sent = 0;
  for await (const piece of body) {
    if (!piece.length) continue;
    if (framing.kind === "chunked") {
      yield chunk(piece);
      continue;
    }
    if (sent + piece.length > framing.length)
      throw new HttpError(`Cannot send request body: it is longer than its Content-Length ${framing.length}`);
    sent += piece.length;
    yield piece;
  }
  if (framing.kind === "chunked") yield LAST_CHUNK;
  else if (sent !== framing.length)
    throw new HttpError(
      `Cannot send request body: it ended after ${sent} of its Content-Length ${framing.length} bytes`,
    );
}

// ## Response

type State =
  | { at: "head" }
  | { at: "length"; left: number }
  | { at: "chunk-size" }
  | { at: "chunk-data"; left: number }
  | { at: "chunk-crlf"; seen: number } // CR, then LF after each chunk's data
  | { at: "trailers" }
  | { at: "until-close" } // no framing: the body ends when the upstream closes (RFC 9112 §6.3 item 8)
  | { at: "raw" } // after 101 Switching Protocols: the stream is no longer HTTP
  | { at: "done" }
  | { at: "ended" };

/**
 * Parses one response (after any interim 1xx) incrementally. Body events are views into the pushed
 * bytes, not copies: do not reuse a buffer after pushing it. After an HttpError the parser is unusable.
 */
export class ResponseParser {
  readonly #method: string;
  readonly #lines: LineReader;
  #state: State = { at: "head" };
  #head: string[] = [];

  constructor(opts: { method: string; maxHeadBytes?: number }) {
    this.#method = opts.method;
    this.#lines = new LineReader(opts.maxHeadBytes ?? 64 * 1024);
  }

  push(bytes: Uint8Array): ResponseEvent[] {
    const events: ResponseEvent[] = [];
    let at = 0;
    while (at < bytes.length) {
      const state = this.#state;
      switch (state.at) {
        case "head":
        case "chunk-size":
        case "trailers": {
          const line = this.#lines.take(bytes, at, LINES[state.at]);
          at = line.next;
          if (line.text !== undefined) this.#line(line.text, events);
          break;
        }
        case "length":
        case "chunk-data": {
          const n = Math.min(state.left, bytes.length - at);
          events.push({ type: "body", data: bytes.subarray(at, at + n) });
          at += n;
          state.left -= n;
          if (state.left > 0) break;
          if (state.at === "length") this.#finish(events);
          else this.#state = { at: "chunk-crlf", seen: 0 };
          break;
        }
        case "chunk-crlf":
          if (bytes[at++] !== CRLF[state.seen])
            throw new HttpError("Cannot parse response: chunk data is not followed by CRLF");
          if (++state.seen === 2) this.#state = { at: "chunk-size" };
          break;
        case "until-close":
        case "raw":
          events.push({ type: "body", data: bytes.subarray(at) });
          at = bytes.length;
          break;
        case "done":
          throw new HttpError("Cannot parse response: bytes after the complete response");
        case "ended":
          throw new HttpError("Cannot parse response: bytes pushed after end()");
      }
    }
    return events;
  }

  /** The upstream closed its side of the stream. */
  end(): ResponseEvent[] {
    const state = this.#state;
    this.#state = { at: "ended" };
    switch (state.at) {
      case "until-close":
      case "raw":
        return [{ type: "end" }];
      case "done":
      case "ended":
        return [];
      case "head":
        throw new HttpError(
          "Cannot parse response: the upstream closed before the response head was complete",
        );
      case "length":
        throw new HttpError(
          `Cannot parse response: the upstream closed ${state.left} bytes before the end of the body`,
        );
      default:
        throw new HttpError("Cannot parse response: the upstream closed in the middle of the chunked body");
    }
  }

  #line(text: string, events: ResponseEvent[]): void {
    switch (this.#state.at) {
      case "head":
        if (text !== "") this.#head.push(text);
        else this.#startBody(events);
        return;
      case "chunk-size": {
        const size = parseChunkSize(text);
        this.#state = size > 0 ? { at: "chunk-data", left: size } : { at: "trailers" };
        this.#lines.reset();
        return;
      }
      case "trailers": // RFC 9112 §7.1.2: trailer fields are dropped, never merged into the header
        if (text === "") this.#finish(events);
        return;
    }
  }

  #startBody(events: ResponseEvent[]): void {
    const head = parseHead(this.#head);
    this.#head = [];
    this.#lines.reset();
    // RFC 9110 §15.2: an interim response is followed by the final one on the same stream.
    if (head.status < 200 && head.status !== 101) return;
    events.push({ type: "head", ...head });
    this.#state = bodyFraming(this.#method, head.status, head.headers);
    if (this.#state.at === "done") events.push({ type: "end" });
  }

  #finish(events: ResponseEvent[]): void {
    this.#state = { at: "done" };
    events.push({ type: "end" });
  }
}

// ## Helpers

const encoder = new TextEncoder();
const decoder = new TextDecoder(); // header text as UTF-8, like workerd's Headers
const CRLF = new Uint8Array([13, 10]);
const STATUS_LINE = /^HTTP\/1\.[01] ([1-5]\d\d)(?: ([^\0]*))?$/; // RFC 9112 §4
const OWS = /^[ \t]+|[ \t]+$/g;
const LINES = {
  head: "the response head",
  "chunk-size": "a chunk size line",
  trailers: "the trailer section",
};

function show(text: string): string {
  return JSON.stringify(text.length > 40 ? text.slice(0, 40) + "…" : text);
}

/** Collects CRLF-terminated lines across pushes, copying only line bytes. `limit` caps the bytes taken
 * since the last reset (a head, a chunk-size line, a trailer section) so a peer cannot grow it forever. */
class LineReader {
  #buf = new Uint8Array(256);
  #len = 0;
  #total = 0;

  constructor(readonly limit: number) {}

  reset(): void {
    this.#total = 0;
  }

  take(bytes: Uint8Array, at: number, what: string): { text?: string; next: number } {
    const lf = bytes.indexOf(10, at);
    const next = lf === -1 ? bytes.length : lf + 1;
    this.#total += next - at;
    if (this.#total > this.limit)
      throw new HttpError(`Cannot parse response: ${what} is longer than ${this.limit} bytes`);
    this.#append(bytes.subarray(at, next));
    if (lf === -1) return { next };
    const line = this.#buf.subarray(0, this.#len);
    this.#len = 0;
    if (line[line.length - 2] !== 13) throw new HttpError(`Cannot parse response: bare LF in ${what}`);
    const text = decoder.decode(line.subarray(0, -2));
    if (text.includes("\r")) throw new HttpError(`Cannot parse response: bare CR in ${what}`);
    return { text, next };
  }

  #append(bytes: Uint8Array): void {
    if (this.#len + bytes.length > this.#buf.length) {
      const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + bytes.length));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }
}

function parseHead(lines: string[]): { status: number; statusText: string; headers: [string, string][] } {
  const [statusLine = "", ...fields] = lines;
  const match = STATUS_LINE.exec(statusLine);
  if (!match) throw new HttpError(`Cannot parse response: bad status line ${show(statusLine)}`);
  const headers: [string, string][] = [];
  for (const field of fields) {
    // RFC 9112 §5.2: obs-fold is obsolete; a proxy may reject it.
    if (field[0] === " " || field[0] === "\t")
      throw new HttpError(`Cannot parse response: obsolete line folding in ${show(field)}`);
    const colon = field.indexOf(":");
    if (colon === -1)
      throw new HttpError(`Cannot parse response: header line without a colon ${show(field)}`);
    const name = field.slice(0, colon);
    if (!TOKEN.test(name))
      throw new HttpError(`Cannot parse response: header name ${show(name)} is not a token`);
    const value = field.slice(colon + 1).replace(OWS, "");
    if (value.includes("\0"))
      throw new HttpError(`Cannot parse response: header ${name} has NUL in its value`);
    headers.push([name.toLowerCase(), value]);
  }
  return { status: Number(match[1]), statusText: match[2] ?? "", headers };
}

/** RFC 9112 §6.3, in its order. */
function bodyFraming(method: string, status: number, headers: [string, string][]): State {
  if (status === 101) return { at: "raw" };
  if (method === "HEAD" || status === 204 || status === 304) return { at: "done" };
  const codings = listValues(headers, "transfer-encoding");
  if (codings.length > 0) {
    // Only chunked alone: any other coding would reach the client still encoded once the proxy drops
    // the hop-by-hop Transfer-Encoding header. Content-Length is ignored (RFC 9112 §6.3 item 3).
    if (codings.length !== 1 || codings[0]!.toLowerCase() !== "chunked")
      throw new HttpError(
        `Cannot parse response: transfer coding ${show(codings.join(", "))} is not supported`,
      );
    return { at: "chunk-size" };
  }
  const lengths = listValues(headers, "content-length");
  if (lengths.length > 0) {
    const first = lengths[0]!;
    // RFC 9110 §8.6: repeats of one valid value may be read as one; anything else is unrecoverable.
    if (!/^\d+$/.test(first) || lengths.some((l) => l !== first))
      throw new HttpError(`Cannot parse response: bad Content-Length ${show(lengths.join(", "))}`);
    const left = Number(first);
    if (!Number.isSafeInteger(left))
      throw new HttpError(`Cannot parse response: Content-Length ${first} is too large`);
    return left === 0 ? { at: "done" } : { at: "length", left };
  }
  return { at: "until-close" };
}

/** The comma-separated elements of every field named `name` (RFC 9110 §5.6.1). Empty elements are
 * kept so that they fail validation rather than vanish. */
function listValues(headers: [string, string][], name: string): string[] {
  return headers.filter(([n]) => n === name).flatMap(([, v]) => v.split(",").map((e) => e.trim()));
}

/** RFC 9112 §7.1: chunk-size [ chunk-ext ]; extensions are ignored. */
function parseChunkSize(line: string): number {
  const match = /^([0-9A-Fa-f]+)[ \t]*(?:;.*)?$/.exec(line);
  if (!match) throw new HttpError(`Cannot parse response: bad chunk size line ${show(line)}`);
  const size = Number.parseInt(match[1]!, 16);
  if (!Number.isSafeInteger(size))
    throw new HttpError(`Cannot parse response: chunk size ${show(match[1]!)} is too large`);
  return size;
}
