// Status that tells the truth (issue 12 item 6): real agents under Bun and Deno report their effective
// view (capability 5), the HostDO keeps the latest in its storage, and the CLI shows it: `service ls`
// with SOURCE / WINS / POLICY, `service add` warning when the agent says it will refuse, `mesh ls`
// with each route's listener state (an address in use included), `forward` checking host and service
// before it listens. A hostile agent's malformed report is refused (4400) and loses nothing.
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { _sealPayload } from "../schema/protocol/envelope.ts";
import { type CborValue, CloseCode, encodeCbor } from "../schema/protocol/index.ts";
import type { Outpost } from "../sdk/index.ts";
import { eventually, RUNTIMES, startAgent, type TestAgent } from "./harness/agent.ts";
import { CLI_BIN, runCli } from "./harness/cli.ts";
import { freePort, type Running, start } from "./harness/process.ts";
import { enrollIdentity, RawAgent } from "./harness/raw-agent.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let client: Outpost;
let env: Record<string, string>;
const agents: Partial<Record<(typeof RUNTIMES)[number], TestAgent>> = {};
const running: Running[] = [];
let blocker: Server;
let blockedPort: number;

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("report");
  client = t.client;
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: t.token, XDG_CONFIG_HOME: stack.dir };
  blocker = createServer();
  blocker.listen(0, "127.0.0.1");
  await once(blocker, "listening");
  blockedPort = (blocker.address() as { port: number }).port;
  await Promise.all(
    RUNTIMES.map(async (runtime) => {
      agents[runtime] = await startAgent(client, {
        runtime,
        name: `rep-${runtime}`,
        cluster: "prod",
        site: "fra1",
        url: stack.url,
        runArgs: ["--service", "own=db.internal:5432", "--service", "shadow=127.0.0.1:7001"],
      });
    }),
  );
});
afterAll(async () => {
  for (const r of running) await r.stop("SIGKILL");
  for (const a of Object.values(agents)) await a?.stop();
  blocker?.close();
  await stack?.close();
});

const cli = (args: string[]) => runCli(args, env);

describe.each(RUNTIMES)("the agent on %s", (runtime) => {
  const host = `rep-${runtime}.prod`;

  it("reports its own services and the policy's word on each API service; service add warns at once", async () => {
    // Allowed, refused by the policy (no --allow-net), and shadowed by the agent's own service.
    const ok = await cli(["service", "add", host, "web", "127.0.0.1:8080"]);
    expect(ok, ok.stderr).toMatchObject({ code: 0, stderr: "" });
    const refused = await cli(["service", "add", host, "intranet", "10.9.9.9:80"]);
    expect(refused.code).toBe(0);
    expect(refused.stderr).toMatch(
      new RegExp(`^warning: the agent on ${host.replace(".", "\\.")} says: refused: .*10\\.9\\.9\\.9`),
    );
    const shadowed = await cli(["service", "add", host, "shadow", "127.0.0.1:7002"]);
    expect(shadowed.stderr).toContain("says: unused: overridden by this host's own service");

    const ls = await cli(["service", "ls", host, "--json"]);
    expect(ls.code, ls.stderr).toBe(0);
    const items = (JSON.parse(ls.stdout) as { items: Record<string, unknown>[] }).items;
    const view = items.map((i) => `${i.name} ${i.source} ${i.target} ${i.wins} ${i.policy}`);
    expect(view[0]).toMatch(/^intranet control plane 10\.9\.9\.9:80 true refused: /);
    expect(view.slice(1)).toEqual([
      "own agent db.internal:5432 true allowed",
      "shadow agent 127.0.0.1:7001 true allowed",
      "shadow control plane 127.0.0.1:7002 false unused: overridden by this host's own service",
      "web control plane 127.0.0.1:8080 true allowed",
    ]);
    const table = await cli(["service", "ls", host]);
    expect(table.stdout.split("\n")[0]).toMatch(/^NAME\s+SOURCE\s+TARGET\s+WINS\s+POLICY$/);
    expect(table.stdout).toMatch(/own\s+agent\s+db\.internal:5432\s+yes\s+allowed/);
    expect(table.stderr).toMatch(/^as the agent reported at \d{4}-\d\d-\d\dT/);
  });

  it("shows mesh routes' state as the agent reports it: listening, or the error (address in use)", async () => {
    const other = RUNTIMES.find((r) => r !== runtime)!;
    const to = `rep-${other}.prod:own`;
    const free = await freePort();
    const good = await cli(["mesh", "add", host, "--listen", `127.0.0.1:${free}`, "--to", to, "--json"]);
    expect(good.code, good.stderr).toBe(0);
    const busy = await cli([
      "mesh",
      "add",
      host,
      "--listen",
      `127.0.0.1:${blockedPort}`,
      "--to",
      to,
      "--json",
    ]);
    expect(busy.code, busy.stderr).toBe(0);
    const [goodId, busyId] = [good, busy].map((r) => (JSON.parse(r.stdout) as { id: string }).id);
    await eventually(async () => {
      const ls = await cli(["mesh", "ls"]);
      expect(ls.stdout.split("\n")[0]).toMatch(/\bSTATE$/);
      const line = (id: string) => ls.stdout.split("\n").find((l) => l.startsWith(id)) ?? "";
      expect(line(goodId!)).toMatch(/listening$/);
      expect(line(busyId!)).toMatch(/failed: cannot listen: address already in use/);
    });
  });

  it("forward refuses an unknown host, a missing service and an offline host before listening", async () => {
    const unknown = await cli(["forward", "nohost.prod:own", "--listen", "127.0.0.1:0"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/host 'nohost\.prod'.*404/);
    expect(unknown.stdout).not.toContain("forwarding");
    const missing = await cli(["forward", `${host}:nope`, "--listen", "127.0.0.1:0"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${host} has no service 'nope' (it has: intranet, own, shadow, web)`);
    expect(missing.stdout).not.toContain("forwarding");
  });
});

it("forward warns on a non-loopback --listen, and starts for a service only the agent's flags define", async () => {
  const fwd = start(process.execPath, [CLI_BIN, "forward", "rep-bun.prod:own", "--listen", "0.0.0.0:0"], {
    env: { ...process.env, ...env },
  });
  running.push(fwd);
  await fwd.waitFor(/forwarding 0\.0\.0\.0:\d+ → rep-bun\.prod:own/, 20_000);
  expect(fwd.output()).toContain("warning: --listen 0.0.0.0 is not loopback");
  await fwd.stop("SIGINT");
});

it("forward refuses an offline host", async () => {
  const id = await enrollIdentity(stack.url, client, "gone");
  const r = await cli(["forward", "gone.prod:ssh"]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("gone.prod is pending: its agent is not connected");
  expect(id.hostId).toMatch(/^host_/);
});

describe("a hostile agent's report", () => {
  const report = (services: Map<string, CborValue>[]) =>
    new Map<string, CborValue>([
      ["services", services],
      ["listeners", []],
    ]);
  const entry = (name: string, reason: string) =>
    new Map<string, CborValue>([
      ["name", name],
      ["source", "agent"],
      ["target", "127.0.0.1:22"],
      ["wins", true],
      ["allowed", true],
      ["reason", reason],
    ]);

  it("is refused 4400 when malformed or holding control characters, and the previous one stays", async () => {
    const id = await enrollIdentity(stack.url, client, "liar");
    const send = async (agent: RawAgent, seq: number, value: Map<string, CborValue>) =>
      agent.send(
        await _sealPayload(
          encodeCbor(
            new Map<string, CborValue>([
              ["t", "report"],
              ["seq", seq],
              ["report", value],
            ]),
          ),
          id.signer,
          { connectionId: agent.conn, direction: "agent>cp" },
        ),
      );
    const first = await RawAgent.connect(stack.url, id);
    await first.handshake();
    await send(first, 2, report([entry("fine", "kept")]));
    await eventually(async () => {
      const res = await client.services.list("liar.prod");
      expect(res.agent?.services.map((s) => s.name)).toEqual(["fine"]);
    });
    for (const bad of [
      report([entry("evil", "\u001b]52;c;cHduZWQ=\u0007")]), // OSC 52 in a reason
      report([entry("dup", "a"), entry("dup", "b")]), // the same definition twice
      report([entry("Bad Name", "x")]),
      new Map<string, CborValue>([["services", []]]), // listeners missing
      report([entry("long", "x".repeat(161))]),
    ]) {
      const agent = await RawAgent.connect(stack.url, id);
      await agent.handshake();
      await send(agent, 2, bad);
      expect((await agent.closed).code).toBe(CloseCode.MALFORMED);
    }
    const after = await client.services.list("liar.prod");
    expect(after.agent?.services).toEqual([
      { name: "fine", source: "agent", target: "127.0.0.1:22", wins: true, allowed: true, reason: "kept" },
    ]);
    // It survives the control plane's restart (Durable Object storage, not memory).
    await stack.restartControlPlane();
    expect((await client.services.list("liar.prod")).agent?.services.map((s) => s.name)).toEqual(["fine"]);
    // Another tenant's key sees none of it: 404, as for a host it does not have.
    const other = await stack.tenant("report-other");
    for (const ref of [id.hostId, "liar.prod"]) {
      const res = await raw(stack, "GET", `/v1/hosts/${ref}/services`, { token: other.token });
      expect(res.status).toBe(404);
      expect(JSON.stringify(res.body)).not.toContain("fine");
    }
  });
});
