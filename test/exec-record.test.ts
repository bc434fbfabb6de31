// Recording an exec on request (issue 16, item 2): `outpost exec --record` and the SDK's `record`
// option record the exec's output to R2 as an asciicast v2, as a terminal session is, and `outpost
// sessions play` replays it. Real Worker in workerd, R2 in Miniflare, a real Bun agent, the CLI as a
// real process; a hostile raw agent whose output past its exit is never recorded; another tenant's
// host and recording are 404; a tenant that turned recording off is refused with the way out.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { encodeExecSpec } from "../schema/protocol/exec-spec.ts";
import type { Outpost } from "../sdk/index.ts";
import { eventually, startAgent, type TestAgent } from "./harness/agent.ts";
import { runCli } from "./harness/cli.ts";
import { enrollIdentity, RawAgent } from "./harness/raw-agent.ts";
import { type Stack, startStack } from "./harness/stack.ts";
import { RawStream } from "./harness/stream-client.ts";

let stack: Stack;
let client: Outpost;
let token: string;
let env: Record<string, string>;
let other: { client: Outpost; token: string };
let agent: TestAgent;
let denoAgent: TestAgent;
let hostile: RawAgent;

type CastEvent = [number, string, string];

function events(cast: string): { header: Record<string, unknown>; events: CastEvent[] } {
  const [head, ...rest] = cast.trimEnd().split("\n");
  return { header: JSON.parse(head!), events: rest.map((l) => JSON.parse(l) as CastEvent) };
}

const output = (cast: string) =>
  events(cast)
    .events.filter(([, code]) => code === "o")
    .map(([, , data]) => data)
    .join("");

/** The finished recording (the one object, not its parts): it ends with the exec's last output. */
function finished(session: string, last: string, as = client): Promise<string> {
  return eventually(async () => {
    const cast = await as.recording(session);
    if (!output(cast).includes(last)) throw new Error(`not all recorded yet:\n${cast}`);
    return cast;
  }, 20_000);
}

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("rec");
  client = t.client;
  token = t.token;
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: t.token };
  agent = await startAgent(client, {
    runtime: "bun",
    name: "web01",
    cluster: "prod",
    site: "fra1",
    url: stack.url,
  });
  denoAgent = await startAgent(client, {
    runtime: "deno",
    name: "web02",
    cluster: "prod",
    site: "fra1",
    url: stack.url,
  });
  hostile = await RawAgent.connect(stack.url, await enrollIdentity(stack.url, client, "liar"));
  await hostile.handshake();
  hostile.keepAlive();
  other = await stack.tenantInProd("rec-other");
}, 120_000);

afterAll(async () => {
  hostile?.ws.close(1000);
  await agent?.stop();
  await denoAgent?.stop();
  await stack?.close();
});

describe("exec --record", () => {
  it("records stdout and stderr as asciicast v2, at their pace, and sessions play replays it", async () => {
    const res = await runCli(
      [
        "exec",
        "--record",
        "web01.prod",
        "--",
        "sh",
        "-c",
        "echo first; echo 'to stderr' >&2; sleep 0.4; printf 'last line\\n'; exit 3",
      ],
      env,
    );
    expect(res.code).toBe(3);
    expect(res.stdout).toBe("first\nlast line\n");
    const said = res.stderr.match(/recorded as session (ses_[0-9a-z]{16}): outpost sessions play \1/);
    expect(said, res.stderr).not.toBeNull();
    const session = said![1]!;
    const cast = await finished(session, "last line");
    const { header, events: evs } = events(cast);
    expect(header).toMatchObject({ version: 2, width: 80, height: 24 });
    // As a terminal shows a pipe's lines: \n is \r\n, stdout and stderr interleaved in order.
    expect(output(cast)).toBe("first\r\nto stderr\r\nlast line\r\n");
    const at = (text: string) => evs.find(([, c, d]) => c === "o" && d.includes(text))![0];
    expect(at("last line") - at("first")).toBeGreaterThanOrEqual(0.3);
    // Played back at its pace (and faster with --speed), with the exec's output on the terminal.
    const played = await runCli(["sessions", "play", session, "--speed", "4"], env);
    expect(played.code, played.stderr).toBe(0);
    expect(played.stdout).toContain("first\r\nto stderr\r\nlast line\r\n");
    // The session and its audit event say it was recorded.
    const { events: audit } = await client.audit();
    const opened = audit.find((e) => e.action === "host.exec" && e.details.session === session);
    expect(opened?.details).toMatchObject({ recorded: true, argv: ["sh", "-c", expect.any(String)] });
  }, 60_000);

  it("records an exec on a Deno agent as on Bun", async () => {
    const res = await runCli(
      ["exec", "--record", "web02.prod", "--", "sh", "-c", "echo on deno; echo 'deno stderr' >&2"],
      env,
    );
    expect(res.code, res.stderr).toBe(0);
    const session = res.stderr.match(/recorded as session (ses_[0-9a-z]{16})/)?.[1];
    expect(session, res.stderr).toBeDefined();
    const recorded = output(await finished(session!, "deno stderr"));
    expect(recorded).toContain("on deno\r\n");
    expect(recorded).toContain("deno stderr\r\n");
  }, 60_000);

  it("records an SDK exec stream opened with record, and nothing of one opened without", async () => {
    const recorded = client.execStream("web01.prod", ["echo", "from the sdk"], { record: true });
    const [session] = await Promise.all([
      recorded.session,
      recorded.stdout.pipeTo(new WritableStream()),
      recorded.stderr.pipeTo(new WritableStream()),
      recorded.stdin.close(),
    ]);
    expect((await recorded.exited).code).toBe(0);
    expect(output(await finished(session, "from the sdk"))).toBe("from the sdk\r\n");

    const plain = client.execStream("web01.prod", ["echo", "unrecorded"]);
    const [unrecorded] = await Promise.all([
      plain.session,
      plain.stdout.pipeTo(new WritableStream()),
      plain.stderr.pipeTo(new WritableStream()),
      plain.stdin.close(),
    ]);
    await plain.exited;
    await new Promise((r) => setTimeout(r, 500));
    await expect(client.recording(unrecorded)).rejects.toMatchObject({ status: 404 });
  }, 30_000);

  it("records nothing a hostile agent sends past the exec's exit, and keeps its bytes as JSON text", async () => {
    const stream = RawStream.open(
      stack.url,
      token,
      `liar.prod/exec?spec=${encodeExecSpec({ argv: ["x"], record: true })}`,
    );
    const open = await hostile.receiveFrame("exec.open");
    const { session } = await stream.frame("started");
    const bytes = new Uint8Array([
      ...new TextEncoder().encode("\u001b]0;title\u0007<b>bold</b>\n"),
      0xff,
      0x0a,
    ]);
    await hostile.sendFrame({ t: "stdout", sid: open.sid, data: bytes } as never);
    await hostile.sendFrame({ t: "exit", sid: open.sid, code: 0 } as never);
    await hostile.sendFrame({
      t: "stdout",
      sid: open.sid,
      data: new TextEncoder().encode("after the end\n"),
    } as never);
    expect(await stream.frame("exit")).toMatchObject({ code: 0 });
    const cast = await finished(session, "bold");
    await new Promise((r) => setTimeout(r, 500));
    const again = await client.recording(session);
    expect(again).toBe(cast);
    expect(output(cast)).toBe("\u001b]0;title\u0007<b>bold</b>\r\n\ufffd\r\n");
    expect(cast).not.toContain("after the end");
    expect(cast.includes("\u001b")).toBe(false); // escaped inside the JSON lines, never raw
  }, 30_000);

  it("gives another tenant 404 for the host and for the recording, as if absent", async () => {
    const mine = client.execStream("web01.prod", ["echo", "mine"], { record: true });
    const [session] = await Promise.all([
      mine.session,
      mine.stdout.pipeTo(new WritableStream()),
      mine.stderr.pipeTo(new WritableStream()),
      mine.stdin.close(),
    ]);
    await finished(session, "mine");
    await expect(other.client.recording(session)).rejects.toMatchObject({ status: 404 });
    const res = await runCli(["exec", "--record", "web01.prod", "--", "true"], {
      OUTPOST_URL: stack.url,
      OUTPOST_TOKEN: other.token,
    });
    expect(res.code).toBe(255);
    expect(res.stderr).toMatch(/host 'web01\.prod'.*not found|not found.*web01\.prod/i);
  }, 30_000);

  it("refuses --record when the tenant turned recording off, saying how to go on; usage errors exit 2", async () => {
    expect((await runCli(["recording", "off"], env)).code).toBe(0);
    try {
      const res = await runCli(["exec", "--record", "web01.prod", "--", "echo", "nope"], env);
      expect(res.code).toBe(255);
      expect(res.stdout).toBe("");
      expect(res.stderr).toMatch(/recording is off for this tenant: run it without --record/);
      // Without --record the exec runs as ever.
      expect((await runCli(["exec", "web01.prod", "--", "echo", "fine"], env)).stdout).toBe("fine\n");
    } finally {
      await runCli(["recording", "on"], env);
    }
    // A fan-out is not recorded: the API refuses the spec, naming the field.
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const spec = encodeExecSpec({ argv: ["true"], record: true });
      const ws = new WebSocket(`${stack.url.replace(/^http/, "ws")}/v1/clusters/prod/exec?spec=${spec}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      ws.on("unexpected-response", (_req, res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.on("open", () => reject(new Error("the fan-out opened")));
      ws.on("error", () => {});
    });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body).error.message).toMatch(/^spec\.record: a fan-out is not recorded/);
    const fanout = await runCli(["exec", "--record", "--cluster", "prod", "--", "true"], env);
    expect(fanout.code).toBe(2);
    expect(fanout.stderr).toMatch(/--record is for one host's exec/);
    const help = await runCli(["exec", "--help"], env);
    expect(help.stdout).toMatch(/--record records its output/);
  }, 60_000);
});
