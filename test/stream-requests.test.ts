// What a stream request may carry into the HostDO, and how long it lives: the Worker builds the DO's
// request from the checked values only (never the caller's headers), and revoking the API key that
// opened a stream ends it. The host is the raw protocol-speaking agent, so the test sees exactly what
// the agent is asked to do.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloseCode } from "../schema/protocol/index.ts";
import { DEFAULT_STREAM_CREDIT } from "../schema/protocol/limits.ts";
import type { Outpost } from "../sdk/index.ts";
import { eventually } from "./harness/agent.ts";
import { enrollIdentity, RawAgent } from "./harness/raw-agent.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";
import { RawStream } from "./harness/stream-client.ts";

let stack: Stack;
let client: Outpost;
let token: string;
let agent: RawAgent;

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("stream-requests");
  client = t.client;
  token = t.token;
  agent = await RawAgent.connect(stack.url, await enrollIdentity(stack.url, client, "target"));
  await agent.handshake();
  agent.keepAlive();
}, 60_000);
afterAll(async () => {
  agent?.ws.close(1000);
  await stack?.close();
});

/** Headers a caller might send hoping the HostDO takes them for the Worker's own. */
const FORGED = {
  "x-outpost-credit": "4294967295",
  "x-outpost-tenant": "tnt_someone_else",
  "x-outpost-actor": "key:forged",
  "x-outpost-target": "evil",
  "x-outpost-exec": JSON.stringify({ argv: ["rm", "-rf", "/"] }),
  "x-outpost-host-name": "forged",
};

async function session(id: string) {
  const { sessions } = await client.sessions({ host: "target.prod" });
  const row = sessions.find((s) => s.id === id);
  if (!row) throw new Error(`no session ${id}`);
  return row;
}

describe("stream requests", () => {
  it("ignores x-outpost-* headers a caller sends: the agent gets the checked values", async () => {
    const tcp = RawStream.open(stack.url, token, "target.prod/tcp?target=web", FORGED);
    const open = await agent.receiveFrame("tcp.open");
    expect(open.target).toBe("web");
    expect(open.credit).toBe(DEFAULT_STREAM_CREDIT);
    const { session: id } = await tcp.frame("started");
    const row = await eventually(() => session(id));
    expect(row.actor).toMatch(/^key:(?!forged)/);
    tcp.ws.terminate();

    const withCredit = RawStream.open(stack.url, token, "target.prod/tcp?target=web&credit=2048", FORGED);
    expect((await agent.receiveFrame("tcp.open")).credit).toBe(2048);
    withCredit.ws.terminate();

    const exec = RawStream.exec(stack.url, token, "target.prod", { argv: ["true"] }, FORGED);
    const execOpen = await agent.receiveFrame("exec.open");
    expect(execOpen.argv).toEqual(["true"]);
    expect(execOpen.credit).toBe(DEFAULT_STREAM_CREDIT);
    exec.ws.terminate();
  });

  it("refuses a credit above 2^32 (or outside 1 KiB–64 MiB) with a 400 that says so", async () => {
    for (const credit of ["4294967296", "4294967295", "1023", "67108865"]) {
      const res = await raw(stack, "GET", `/v1/hosts/target.prod/tcp?target=web&credit=${credit}`, { token });
      expect(res.status, credit).toBe(400);
      expect(res.body.error?.message).toMatch(/credit/);
    }
  });

  it("ends every stream a key opened when the key is revoked, and records why", async () => {
    const { token: keyToken, key } = await client.keys.create({ role: "operator", name: "doomed" });
    const exec = RawStream.exec(stack.url, keyToken, "target.prod", { argv: ["sleep", "60"] });
    const execOpen = await agent.receiveFrame("exec.open");
    const tcp = RawStream.open(stack.url, keyToken, "target.prod/tcp?target=web");
    const tcpOpen = await agent.receiveFrame("tcp.open");
    await agent.sendFrame({ t: "tcp.opened", sid: tcpOpen.sid, credit: 65536 } as never);
    await tcp.frame("opened");
    const ids = [(await exec.frame("started")).session, (await tcp.frame("started")).session];
    // A stream of another key on the same host is left alone.
    const bystander = RawStream.exec(stack.url, token, "target.prod", { argv: ["sleep", "60"] });
    const bystanderOpen = await agent.receiveFrame("exec.open");
    await bystander.frame("started");
    await eventually(() => Promise.all(ids.map(session)));

    const started = Date.now();
    await client.keys.revoke(key.id);
    for (const stream of [exec, tcp]) {
      expect((await stream.closed).code).toBe(CloseCode.REVOKED);
      expect(await stream.frame("error")).toMatchObject({ code: "revoked", message: /API key .* revoked/ });
    }
    expect(Date.now() - started).toBeLessThan(5000);
    const told = [await agent.receiveFrame("close"), await agent.receiveFrame("close")].map((f) => f.sid);
    expect(told.sort()).toEqual([execOpen.sid, tcpOpen.sid].sort());
    for (const id of ids) {
      const row = await eventually(async () => {
        const r = await session(id);
        if (!r.endedAt) throw new Error(`session ${id} still open`);
        return r;
      });
      expect(row.endReason).toMatch(/API key .* was revoked/);
    }
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
    await agent.sendFrame({ t: "exit", sid: bystanderOpen.sid, code: 0 } as never);
    expect(await bystander.frame("exit")).toMatchObject({ code: 0 });
    // And the revoked key opens nothing more.
    expect(
      (await raw(stack, "GET", "/v1/hosts/target.prod/tcp?target=web", { token: keyToken })).status,
    ).toBe(401);
  });
});
