// Terminal escapes from agents (issue 10 item 12): a hostile agent's facts with an OSC 52 clipboard
// write are refused (4400) and nothing of them is stored; host rows that hold control characters
// anyway (written by an older or compromised control plane) print escaped in `outpost hosts` and parse
// back whole from `outpost hosts --json`; the API refuses control characters in labels and key names.
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { _sealPayload } from "../schema/protocol/envelope.ts";
import { type CborValue, CloseCode, encodeCbor, PROTOCOL_CAPABILITY } from "../schema/protocol/index.ts";
import type { Outpost } from "../sdk/index.ts";
import { runCli } from "./harness/cli.ts";
import { insertHost } from "./harness/fixtures.ts";
import { enrollIdentity, FACTS, RawAgent } from "./harness/raw-agent.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";

const OSC52 = "\u001b]52;c;ZWNobyBwd25lZA==\u0007";
/** Anything a terminal might obey: ESC, BEL, C1 CSI, DEL, bidi override and isolate, CR, LF. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let stack: Stack;
let client: Outpost;
let token: string;
let tenantId: string;

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("escapes");
  client = t.client;
  token = t.token;
  tenantId = t.id;
});
afterAll(async () => {
  await stack?.close();
});

const cliEnv = () => ({ OUTPOST_URL: stack.url, OUTPOST_TOKEN: token, XDG_CONFIG_HOME: stack.dir });

describe("a hostile agent", () => {
  it("is refused 4400 for an OSC 52 sequence in its facts, and nothing of them is stored", async () => {
    const id = await enrollIdentity(stack.url, client, "osc52");
    const agent = await RawAgent.connect(stack.url, id);
    // Sealed by hand: encodeFrame would turn the escapes into U+FFFD, as a real agent's do.
    const hello = new Map<string, CborValue>([
      ["t", "hello"],
      ["seq", 1],
      ["host", id.hostId],
      ["nonce", agent.challenge.nonce],
      ["version", "0.0.0-test"],
      ["cap", PROTOCOL_CAPABILITY],
      ["facts", new Map<string, CborValue>(Object.entries({ ...FACTS, hostname: `pwn${OSC52}` }))],
    ]);
    agent.send(
      await _sealPayload(encodeCbor(hello), id.signer, { connectionId: agent.conn, direction: "agent>cp" }),
    );
    const closed = await agent.closed;
    expect(closed.code).toBe(CloseCode.MALFORMED);
    expect(closed.reason).toContain("facts.hostname must not contain control characters");
    const { host } = await client.hosts.get("osc52.prod");
    expect(host).toMatchObject({ status: "pending", facts: {}, runtime: null, agentVersion: null });
    expect(JSON.stringify(host)).not.toContain("52;c;");
  });
});

describe("the CLI", () => {
  const name = `evil${OSC52}\u009b2J\u202eexe.sh\u0007\r\nforged`;
  const runtime = `bun 1.4.5${OSC52}`;

  beforeAll(async () => {
    const ids = await client.sites.list("prod");
    const site = ids.sites.find((s) => s.name === "fra1")!;
    const hostId = await insertHost(stack.dbUrl, {
      tenantId,
      clusterId: site.clusterId,
      siteId: site.id,
      name,
      labels: { role: `web${OSC52}` },
      status: "online",
    });
    // What an older control plane stored: no decoder refused the escapes then.
    const db = createClient({ url: stack.dbUrl });
    await db.execute({
      sql: "UPDATE hosts SET runtime = ?, agent_version = ? WHERE id = ?",
      args: [runtime, `0.1\u001b[8m`, hostId],
    });
    db.close();
  });

  it("prints remote strings in a table with every control character escaped", async () => {
    const res = await runCli(["hosts"], cliEnv());
    expect(res.code).toBe(0);
    expect(res.stdout).not.toMatch(RAW_CONTROL);
    expect(res.stdout).toContain(
      "evil\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x9b2J\\u202eexe.sh\\x07\\x0d\\x0aforged.prod",
    );
    expect(res.stdout).toContain("bun 1.4.5\\x1b]52;c;");
    expect(res.stdout).toContain("0.1\\x1b[8m");
    // A header and the two hosts: the CR LF in the name did not forge a line.
    const lines = res.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines.filter((l) => l.startsWith("forged"))).toEqual([]);
  });

  it("prints JSON that escapes them and parses back to the stored strings", async () => {
    const res = await runCli(["hosts", "--json"], cliEnv());
    expect(res.code).toBe(0);
    expect(res.stdout).not.toMatch(RAW_CONTROL);
    const [host] = JSON.parse(res.stdout).items as {
      name: string;
      runtime: string;
      labels: Record<string, string>;
    }[];
    expect(host).toMatchObject({ name, runtime, labels: { role: `web${OSC52}` } });
  });

  it("escapes a server's error message too", async () => {
    // The 404 names the host asked for, which the server echoes as given.
    const res = await runCli(["service", "ls", `x${OSC52}.prod`], cliEnv());
    expect(res.code).toBe(1);
    expect(res.stderr).not.toMatch(/[\u001b\u0007]/);
  });
});

describe("the API", () => {
  it("refuses control characters in labels, at token create and at enroll, and in key names", async () => {
    const admin = { token };
    const tokenRes = await raw(stack, "POST", "/v1/tokens", {
      ...admin,
      body: { cluster: "prod", site: "fra1", labels: { role: `web${OSC52}` } },
    });
    expect(tokenRes.status).toBe(400);
    expect(tokenRes.body.error?.message).toMatch(/label values are/);
    const keyRes = await raw(stack, "POST", "/v1/tokens", {
      ...admin,
      body: { cluster: "prod", site: "fra1", labels: { [`r\u202eole`]: "web" } },
    });
    expect(keyRes.status).toBe(400);
    const { token: oet } = await client.tokens.create({ cluster: "prod", site: "fra1" });
    const enroll = await raw(stack, "POST", "/v1/enroll", {
      body: {
        token: oet,
        name: "labelled",
        labels: { role: `web\u009b2J` },
        publicKey: `hostkey:${"A".repeat(43)}`,
        time: Date.now(),
        signature: "A".repeat(86),
      },
    });
    expect(enroll.status).toBe(400);
    expect(enroll.body.error?.message).toMatch(/label values are/);
    const named = await raw(stack, "POST", "/v1/keys", {
      ...admin,
      body: { role: "viewer", name: `ci${OSC52}` },
    });
    expect(named.status).toBe(400);
    expect(named.body.error?.message).toMatch(/must not contain control characters/);
    const plain = await raw(stack, "POST", "/v1/keys", {
      ...admin,
      body: { role: "viewer", name: "ci runner (eu)" },
    });
    expect(plain.status).toBe(201);
  });
});
