// Exposures between a hostile client and a hostile upstream: what the proxy passes up (credentials,
// identity and forwarding headers in any spelling, request framing, cookies) and what it passes back
// (Set-Cookie). The upstream is a raw TCP server on loopback that records the exact bytes it receives,
// so a test sees what a CGI/WSGI/Rack server or a second HTTP parser would see, not what node:http
// makes of it. Requests go to the real Worker in workerd, through the HostDO and a real Bun agent.
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Outpost } from "../sdk/index.ts";
import { startAgent, type TestAgent } from "./harness/agent.ts";
import { type ExposureAddress, exposureAddress, exposureRequest } from "./harness/exposure.ts";
import { type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let client: Outpost;
let token: string;
let agent: TestAgent;
let upstream: Server;
/** Each connection's bytes as the upstream received them, in order of arrival. */
const seen: string[] = [];
/** Raw responses by request path; anything else gets a plain 200. */
const answers = new Map<string, string>();

// The upstream answers once the proxy has gone quiet: it parses nothing itself, so what it records is
// every byte the proxy sent, framed or not.
const QUIET_MS = 250;

function startUpstream(): Promise<number> {
  upstream = createServer((socket: Socket) => {
    const at = seen.push("") - 1;
    let timer: NodeJS.Timeout | undefined;
    socket.on("error", () => {});
    socket.on("data", (d: Buffer) => {
      seen[at] += d.toString("latin1");
      clearTimeout(timer);
      timer = setTimeout(() => {
        const path = /^[A-Z]+ (\S+) /.exec(seen[at]!)?.[1] ?? "";
        socket.end(
          answers.get(path) ?? "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
        );
      }, QUIET_MS);
    });
  });
  return new Promise((resolve) =>
    upstream.listen(0, "127.0.0.1", () => resolve((upstream.address() as { port: number }).port)),
  );
}

/** What the upstream received for the request whose target ends with `path` (the only such one). */
function received(path: string): string {
  const hits = seen.filter((s) => s.split("\r\n", 1)[0]!.includes(` ${path} `));
  expect(hits).toHaveLength(1);
  return hits[0]!;
}

/** Header names and values of a recorded request head, as sent. */
function headLines(recorded: string): [string, string][] {
  const head = recorded.slice(0, recorded.indexOf("\r\n\r\n"));
  return head
    .split("\r\n")
    .slice(1)
    .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]);
}

/** Request lines in what the upstream received: more than one is a smuggled request. */
const requestLines = (recorded: string) => recorded.match(/(?:^|\r\n)[A-Z]+ \S+ HTTP\/1\.[01]\r\n/g) ?? [];

let pub: ExposureAddress;
let keyed: ExposureAddress;
let linked: ExposureAddress;

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("hostile");
  client = t.client;
  token = t.token;
  const port = await startUpstream();
  agent = await startAgent(client, {
    runtime: "bun",
    name: "web01",
    cluster: "prod",
    site: "fra1",
    url: stack.url,
    runArgs: ["--service", `web=127.0.0.1:${port}`],
  });
  await client.exposures.create("web01.prod", "web", "pub", { public: true });
  await client.exposures.create("web01.prod", "web", "keyed");
  await client.exposures.create("web01.prod", "web", "linked");
  pub = exposureAddress(stack, "pub");
  keyed = exposureAddress(stack, "keyed");
  linked = exposureAddress(stack, "linked");
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  upstream?.close();
  await stack?.close();
});

/** The `?outpost_link=…` token of a fresh link to `name`. */
async function linkToken(name: string): Promise<string> {
  const { url } = await client.exposures.link(name, "10m");
  return new URL(url).searchParams.get("outpost_link")!;
}

describe("the caller's Outpost credentials never reach the service", () => {
  it("drops an Authorization header with an Outpost key or the platform token on a public exposure", async () => {
    const other = await stack.tenant("hostile-other");
    // Another tenant's key is refused outright (gateway.ts admit), so it reaches nobody.
    const refused = await exposureRequest(pub, "/cred-opk", {
      headers: [["Authorization", `Bearer ${other.token}`]],
    });
    expect(refused.status).toBe(403);
    expect(seen.filter((s) => s.includes(" /cred-opk "))).toEqual([]);
    for (const [path, auth] of [
      ["/cred-opa", `Bearer ${stack.adminToken}`],
      ["/cred-lower", `bearer ${token}`],
    ] as const) {
      const res = await exposureRequest(pub, path, { headers: [["Authorization", auth]] });
      expect(res.status).toBe(200);
      const up = received(path);
      expect(headLines(up).filter(([n]) => n.toLowerCase() === "authorization")).toEqual([]);
      expect(up).not.toContain(auth.split(" ")[1]);
    }
    // Two Authorization headers reach the Worker as one, merged: an Outpost credential in either
    // drops the whole of it.
    await exposureRequest(pub, "/cred-two", {
      headers: [
        ["Authorization", "Basic dTpw"],
        ["Authorization", `Bearer ${other.token}`],
      ],
    });
    expect(received("/cred-two")).not.toMatch(/authorization|opk_/i);
  });

  it("passes a public app's own Authorization (Basic, or a bearer token not of Outpost)", async () => {
    await exposureRequest(pub, "/own-basic", { headers: [["Authorization", "Basic dTpw"]] });
    expect(headLines(received("/own-basic"))).toContainEqual(["authorization", "Basic dTpw"]);
    await exposureRequest(pub, "/own-jwt", { headers: [["Authorization", "Bearer eyJhbGciOi.e30.sig"]] });
    expect(headLines(received("/own-jwt"))).toContainEqual(["authorization", "Bearer eyJhbGciOi.e30.sig"]);
  });

  it("drops the link parameter (keeping the rest of the query as sent), the link cookie and any Outpost Authorization on a link", async () => {
    const link = await linkToken("linked");
    const res = await exposureRequest(linked, `/q?a=b%20c&outpost_link=${link}&z=%7E+1`, {
      headers: [
        ["Authorization", `Bearer ${stack.adminToken}`],
        ["Cookie", `outpost_link=${link}; app=1`],
      ],
    });
    expect(res.status).toBe(200);
    const up = received("/q?a=b%20c&z=%7E+1");
    expect(up).not.toContain(link);
    expect(up).not.toContain(stack.adminToken);
    expect(headLines(up)).toContainEqual(["cookie", "app=1"]);
  });

  it("drops the API key on a keyed exposure", async () => {
    const res = await exposureRequest(keyed, "/by-key", { headers: [["Authorization", `Bearer ${token}`]] });
    expect(res.status).toBe(200);
    expect(received("/by-key")).not.toContain(token);
  });
});

describe("WebSocket upgrades", () => {
  it("filter the handshake the same way, and pass the service's refusal with host-only cookies", async () => {
    answers.set(
      "/ws",
      "HTTP/1.1 403 Forbidden\r\nSet-Cookie: s=1; Domain=localhost\r\ncontent-length: 2\r\n\r\nno",
    );
    const link = await linkToken("linked");
    const res = await exposureRequest(linked, `/ws?outpost_link=${link}`, {
      headers: [
        ["Connection", "Upgrade"],
        ["Upgrade", "websocket"],
        ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
        ["Sec-WebSocket-Version", "13"],
        ["Authorization", `Bearer ${stack.adminToken}`],
        ["Cookie", "app=1"],
        ["Cookie", `outpost_link=${link}`],
        ["X_Outpost_Role", "admin"],
      ],
    });
    expect(res.status).toBe(403);
    expect(res.rawHeaders.filter(([n]) => n.toLowerCase() === "set-cookie").map(([, v]) => v)).toEqual([
      "s=1",
    ]);
    const up = received("/ws");
    expect(up).not.toContain(link);
    expect(up).not.toContain(stack.adminToken);
    const lines = headLines(up);
    expect(lines.filter(([n]) => n.includes("_") || n === "authorization")).toEqual([]);
    expect(lines).toContainEqual(["cookie", "app=1"]);
    expect(lines).toContainEqual(["upgrade", "websocket"]);
  });
});

describe("identity and forwarding headers in any spelling", () => {
  it("drops every header whose name has an underscore, as nginx does", async () => {
    const res = await exposureRequest(pub, "/underscores", {
      headers: [
        ["X_Outpost_Role", "admin"],
        ["X-Outpost_Tenant", "ten_forged"],
        ["X_Forwarded_For", "203.0.113.9"],
        ["Cf_Connecting_Ip", "203.0.113.9"],
        ["x_outpost_caller", "key:key_forged"],
        ["X-App", "kept"],
      ],
    });
    expect(res.status).toBe(200);
    const lines = headLines(received("/underscores"));
    expect(lines.filter(([n]) => n.includes("_"))).toEqual([]);
    expect(lines.filter(([, v]) => /admin|forged|203\.0\.113\.9/.test(v))).toEqual([]);
    expect(lines).toContainEqual(["x-outpost-caller", "public"]);
    expect(lines).toContainEqual(["x-app", "kept"]);
  });
});

/** Writes `bytes` to the exposure's origin on a raw socket and returns all it answers until it closes. */
function rawExchange(address: ExposureAddress, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(address.port, address.host, () => socket.write(bytes, "latin1"));
    let answer = "";
    socket.on("data", (d: Buffer) => (answer += d.toString("latin1")));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no end of answer; got ${answer}`)));
  });
}

describe("request framing", () => {
  // The request from issue 10: Content-Length says 5, the chunked body carries a second request with
  // forged identity headers after those 5 bytes.
  const smuggled =
    "GET /smuggled HTTP/1.1\r\nHost: x\r\nX-Outpost-Caller: key:key_forged\r\nX-Outpost-Role: admin\r\n\r\n";
  const body = `hello${smuggled}`;
  const attack = (address: ExposureAddress, path: string) =>
    `POST ${address.prefix}${path} HTTP/1.1\r\nHost: ${address.hostHeader}\r\nContent-Length: 5\r\n` +
    `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;

  it("refuses a request with both Content-Length and Transfer-Encoding, and nothing reaches the upstream", async () => {
    const before = seen.length;
    const answer = await rawExchange(pub, attack(pub, "/smuggle"));

    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/Content-Length and Transfer-Encoding/);
    await new Promise((r) => setTimeout(r, QUIET_MS * 2));
    const after = seen.slice(before);
    expect(after.filter((s) => s.includes("/smuggle"))).toEqual([]);
    expect(after.flatMap(requestLines)).toEqual([]);
  });

  it("sends a chunked upload chunked, and a sized one with the length it actually sends", async () => {
    const piece = "x".repeat(3000);
    const up = await exposureRequest(pub, "/chunked-up", {
      method: "POST",
      headers: [["Transfer-Encoding", "chunked"]],
      body: piece,
    });
    expect(up.status).toBe(200);
    const chunked = received("/chunked-up");
    const chunkedHead = headLines(chunked);
    expect(chunkedHead).toContainEqual(["transfer-encoding", "chunked"]);
    expect(chunkedHead.filter(([n]) => n === "content-length")).toEqual([]);
    expect(dechunk(chunked.slice(chunked.indexOf("\r\n\r\n") + 4))).toBe(piece);

    await exposureRequest(pub, "/sized-up", {
      method: "POST",
      headers: [["Content-Length", String(piece.length)]],
      body: piece,
    });
    const sized = received("/sized-up");
    expect(headLines(sized)).toContainEqual(["content-length", "3000"]);
    expect(sized.slice(sized.indexOf("\r\n\r\n") + 4)).toBe(piece);
    expect(requestLines(sized)).toHaveLength(1);
  });
});

/** A chunked body's data, checking that it ends with the last chunk and nothing after it. */
function dechunk(wire: string): string {
  let data = "";
  let at = 0;
  for (;;) {
    const eol = wire.indexOf("\r\n", at);
    const size = Number.parseInt(wire.slice(at, eol), 16);
    at = eol + 2;
    if (size === 0) {
      expect(wire.slice(at)).toBe("\r\n");
      return data;
    }
    data += wire.slice(at, at + size);
    expect(wire.slice(at + size, at + size + 2)).toBe("\r\n");
    at += size + 2;
  }
}

describe("cookies", () => {
  it("strips the link cookie from every Cookie header and joins the rest with '; '", async () => {
    const link = await linkToken("linked");
    const cases: [ExposureAddress, string, [string, string][]][] = [
      [keyed, "/two-cookies-key", [["Authorization", `Bearer ${token}`]]],
      [linked, `/two-cookies-link?outpost_link=${link}`, []],
    ];
    for (const [address, path, extra] of cases) {
      const res = await exposureRequest(address, path, {
        headers: [...extra, ["Cookie", "app=1; theme=dark"], ["Cookie", `outpost_link=${link}; other=2`]],
      });
      expect(res.status).toBe(200);
      const up = received(path.split("?")[0]!);
      expect(up).not.toContain(link);
      expect(headLines(up).filter(([n]) => n === "cookie")).toEqual([
        ["cookie", "app=1; theme=dark; other=2"],
      ]);
    }
  });

  it("makes the service's cookies host-only, each Set-Cookie kept apart", async () => {
    answers.set(
      "/set-cookies",
      "HTTP/1.1 200 OK\r\n" +
        "Set-Cookie: a=1; Domain=localhost; Path=/\r\n" +
        "Set-Cookie: b=2; Path=/; domain=.localhost; HttpOnly\r\n" +
        "Set-Cookie: c=3; Expires=Wed, 21 Oct 2037 07:28:00 GMT; DOMAIN = shop.test ; Secure\r\n" +
        "Set-Cookie: d=4\r\n" +
        "content-length: 2\r\nconnection: close\r\n\r\nok",
    );
    const link = await linkToken("linked");
    const res = await exposureRequest(linked, `/set-cookies?outpost_link=${link}`);
    expect(res.status).toBe(200);
    const cookies = res.rawHeaders.filter(([n]) => n.toLowerCase() === "set-cookie").map(([, v]) => v);
    expect(cookies.slice(0, 4)).toEqual([
      "a=1; Path=/",
      "b=2; Path=/; HttpOnly",
      "c=3; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Secure",
      "d=4",
    ]);
    // …and the link's own cookie after them, a field of its own.
    expect(cookies).toHaveLength(5);
    expect(cookies[4]).toMatch(/^outpost_link=/);
  });
});
