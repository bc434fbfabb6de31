// A stream kind that came in a later capability than the host's agent speaks is refused before the
// agent hears of it: 409 agent_too_old, naming the host, the agent's capability and the kind, and
// saying to upgrade. The agents are the raw test adversary (harness/raw-agent.ts) announcing an older
// capability in hello; the same request to an agent of capability 10 reaches the agent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { PROTOCOL_CAPABILITY } from "../schema/protocol/index.ts";
import { enrollIdentity, RawAgent } from "./harness/raw-agent.ts";
import { type Stack, startStack } from "./harness/stack.ts";
import { RawStream } from "./harness/stream-client.ts";

let stack: Stack;
let token: string;
let client: Awaited<ReturnType<Stack["tenantInProd"]>>["client"];
const agents: RawAgent[] = [];

/** A raw agent named `name` that says it speaks capability `cap`. */
async function agentAt(name: string, cap: number): Promise<RawAgent> {
  const agent = await RawAgent.connect(stack.url, await enrollIdentity(stack.url, client, name));
  const hello = agent.helloFrame.bind(agent);
  agent.helloFrame = () => ({ ...hello(), cap }) as ReturnType<typeof hello>;
  await agent.handshake();
  agent.keepAlive();
  agents.push(agent);
  return agent;
}

/** The HTTP status and error body of a refused stream upgrade. */
function refusal(
  path: string,
): Promise<{ status: number; body: { error: { code: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${stack.url.replace(/^http/, "ws")}/v1/hosts/${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    ws.on("open", () => reject(new Error(`${path} was not refused`)));
    ws.on("error", () => {});
    ws.on("unexpected-response", (_req, res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
  });
}

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("too-old");
  client = t.client;
  token = t.token;
}, 60_000);
afterAll(async () => {
  for (const a of agents) a.ws.close(1000);
  await stack?.close();
});

describe("a stream the host's agent is too old for", () => {
  it("refuses a VM console on a capability 9 agent with 409, saying to upgrade; a capability 10 agent gets it", async () => {
    expect(PROTOCOL_CAPABILITY).toBeGreaterThanOrEqual(10);
    const old = await agentAt("old-nine", 9);
    const r = await refusal("old-nine.prod/vms/web/console");
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("agent_too_old");
    expect(r.body.error.message).toMatch(
      /old-nine's agent \(capability 9\) has no console streams; upgrade it/,
    );
    // Nothing reached the old agent: no console.open in the next 1.5 s.
    const reached = await Promise.race([
      old.receiveFrame("console.open" as never).then(() => "console.open"),
      new Promise((r) => setTimeout(() => r("nothing"), 1500)),
    ]);
    expect(reached).toBe("nothing");

    const current = await agentAt("new-ten", 10);
    const stream = RawStream.open(stack.url, token, "new-ten.prod/vms/web/console?mode=read");
    expect((await current.receiveFrame("console.open")).vm).toBe("web");
    stream.ws.close(1000);
  });

  it("refuses a VM's console history (vm logs) on that agent the same way", async () => {
    const r = await refusal("old-nine.prod/vms/web/logs?lines=10");
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: "agent_too_old" });
    expect(r.body.error.message).toMatch(/capability 9\) has no console streams/);
  });
});
