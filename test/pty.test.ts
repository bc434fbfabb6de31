// Terminals on hosts, end to end: a real control plane (workerd + libSQL + R2), real agents under Bun
// (Bun.spawn's terminal) and Deno (util-linux script), the SDK's pty stream. A pty is a real tty
// (`tty` names /dev/pts/N), follows resize (`stty size`), turns Ctrl-C into SIGINT, returns the exit
// code; each session is recorded as asciicast v2 in R2 unless the tenant turned recording off; only
// operators and admins open terminals and watch recordings, and nobody sees another tenant's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Outpost, OutpostApiError, OutpostStreamError } from "../sdk/index.ts";
import type { PtyStream } from "../sdk/streams/pty.ts";
import { RUNTIMES, startAgent, type TestAgent } from "./harness/agent.ts";
import { runCli } from "./harness/cli.ts";
import { type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let client: Outpost;
let token: string;
const agents: TestAgent[] = [];

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("pty");
  client = t.client;
  token = t.token;
});
afterAll(async () => {
  for (const a of agents) await a.stop();
  await stack?.close();
});

const ENCODER = new TextEncoder();

/** A terminal whose output is collected as text, and waited on for a pattern. */
function terminal(stream: PtyStream) {
  let text = "";
  const reading = (async () => {
    for await (const chunk of stream.output as unknown as AsyncIterable<Uint8Array>) {
      text += new TextDecoder().decode(chunk);
    }
  })();
  const writer = stream.input.getWriter();
  return {
    get text() {
      return text;
    },
    type: (s: string) => writer.write(ENCODER.encode(s)),
    async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const m = text.match(pattern);
        if (m) return m;
        if (Date.now() > until)
          throw new Error(`no ${pattern} in the terminal's output: ${JSON.stringify(text)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    reading,
  };
}

describe.each(RUNTIMES)("terminals on %s", (runtime) => {
  let agent: TestAgent;
  let off: TestAgent;

  beforeAll(async () => {
    const where = { runtime, cluster: "prod", site: "fra1", url: stack.url };
    [agent, off] = await Promise.all([
      startAgent(client, { ...where, name: `pty-${runtime}` }),
      startAgent(client, { ...where, name: `noexec-${runtime}`, runArgs: ["--no-exec"] }),
    ]);
    agents.push(agent, off);
  });

  it("is a real tty that follows resize, passes Ctrl-C and returns the exit code; recorded", async () => {
    const stream = client.ptyStream(agent.ref, { argv: ["sh"], cols: 90, rows: 20 });
    const session = await stream.session;
    const t = terminal(stream);
    await t.type("tty; stty size\n");
    await t.waitFor(/\/dev\/pts\/\d+/);
    await t.waitFor(/20 90/);
    stream.resize(132, 43);
    await new Promise((r) => setTimeout(r, 300));
    await t.type("stty size\n");
    await t.waitFor(/43 132/);
    await t.type("sleep 30; echo slept-$?\n");
    await new Promise((r) => setTimeout(r, 500));
    await t.type("\x03");
    await t.type("echo after-$((40+2))\n");
    await t.waitFor(/after-42/);
    expect(t.text).not.toMatch(/slept-0/);
    await t.type("exit 7\n");
    expect(await stream.exited).toEqual({ code: 7 });
    await t.reading;

    // The recording: asciicast v2, written whole when the session ended.
    const cast = await eventuallyRecording(session);
    const [header, ...events] = cast.trimEnd().split("\n");
    expect(JSON.parse(header!)).toMatchObject({ version: 2, width: 90, height: 20 });
    const parsed = events.map((l) => JSON.parse(l) as [number, string, string]);
    for (const [time, code, data] of parsed) {
      expect(typeof time).toBe("number");
      expect(["o", "r", "m"]).toContain(code);
      expect(typeof data).toBe("string");
    }
    expect(parsed.some(([, code, data]) => code === "r" && data === "132x43")).toBe(true);
    const output = parsed
      .filter(([, c]) => c === "o")
      .map(([, , d]) => d)
      .join("");
    expect(output).toMatch(/43 132/);
    expect(output).toMatch(/after-42/);
    const times = parsed.map(([time]) => time);
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    // The CLI replays it, fast.
    const played = await runCli(["sessions", "play", session, "--speed", "100"], cliEnv());
    expect(played.code).toBe(0);
    expect(played.stdout).toMatch(/after-42/);
  });

  it("runs the login shell when no argv is given", async () => {
    const stream = client.ptyStream(agent.ref, { cols: 80, rows: 24 });
    const t = terminal(stream);
    await t.type("echo shell-$((1+2)); exit 3\n");
    await t.waitFor(/shell-3/);
    expect(await stream.exited).toEqual({ code: 3 });
  });

  it("is refused by an agent run with --no-exec: a shell is an exec of the shell", async () => {
    const stream = client.ptyStream(off.ref, { cols: 80, rows: 24 });
    const error = await stream.exited.then(
      () => new Error("a shell ran on a --no-exec host"),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OutpostStreamError);
    expect((error as OutpostStreamError).message).toMatch(/^exec refused: .*--no-exec/);
  });
});

const cliEnv = () => ({ OUTPOST_URL: stack.url, OUTPOST_TOKEN: token, XDG_CONFIG_HOME: stack.dir });

async function eventuallyRecording(session: string, as: Outpost = client): Promise<string> {
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      const cast = await as.recording(session);
      if (/"o"/.test(cast)) return cast;
    } catch (error) {
      if (Date.now() > until) throw error;
    }
    if (Date.now() > until) throw new Error(`no recording of ${session}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("recordings and who may use terminals", () => {
  let agent: TestAgent;

  beforeAll(async () => {
    agent = await startAgent(client, {
      runtime: "bun",
      cluster: "prod",
      site: "fra1",
      url: stack.url,
      name: "rec",
    });
    agents.push(agent);
  });

  async function session(argv: string[]): Promise<string> {
    const stream = client.ptyStream(agent.ref, { argv, cols: 80, rows: 24 });
    const id = await stream.session;
    const t = terminal(stream);
    await stream.exited;
    await t.reading;
    return id;
  }

  it("records nothing while the tenant's recording is off", async () => {
    expect(await client.settings.recording()).toEqual({ recording: true });
    expect(await client.settings.setRecording(false)).toEqual({ recording: false });
    try {
      const id = await session(["echo", "unrecorded"]);
      await new Promise((r) => setTimeout(r, 500));
      const error = await client.recording(id).then(
        () => new Error("a recording was stored while recording was off"),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(OutpostApiError);
      expect((error as OutpostApiError).status).toBe(404);
    } finally {
      await client.settings.setRecording(true);
    }
    const audit = await client.audit({ limit: 20 });
    expect(audit.events.some((e) => e.action === "tenant.recording")).toBe(true);
  });

  it("lets no viewer open a terminal, watch a recording or switch recording", async () => {
    const id = await session(["echo", "watched"]);
    await eventuallyRecording(id);
    const viewer = await client.keys.create({ role: "viewer", name: "pty-viewer" });
    const asViewer = new Outpost({ url: stack.url, token: viewer.token });
    const opened = await asViewer.ptyStream(agent.ref, { cols: 80, rows: 24 }).session.then(
      () => new Error("a viewer opened a terminal"),
      (e: unknown) => e,
    );
    expect(String((opened as Error).message)).toMatch(/403|operator/);
    const watched = await asViewer.recording(id).then(
      () => new Error("a viewer watched"),
      (e: unknown) => e,
    );
    expect((watched as OutpostApiError).status).toBe(403);
    const switched = await asViewer.settings.setRecording(false).then(
      () => new Error("a viewer switched recording off"),
      (e: unknown) => e,
    );
    expect((switched as OutpostApiError).status).toBe(403);
    // An operator may watch.
    const operator = await client.keys.create({ role: "operator", name: "pty-operator" });
    expect(await eventuallyRecording(id, new Outpost({ url: stack.url, token: operator.token }))).toMatch(
      /watched/,
    );
  });

  it("shows another tenant neither the recording nor the host: 404", async () => {
    const id = await session(["echo", "secret-output"]);
    await eventuallyRecording(id);
    const other = await stack.tenantInProd("pty-other");
    const fetched = await other.client.recording(id).then(
      () => new Error("another tenant fetched the recording"),
      (e: unknown) => e,
    );
    expect((fetched as OutpostApiError).status).toBe(404);
    expect(String((fetched as Error).message)).not.toMatch(/secret-output/);
    const opened = await other.client.ptyStream(agent.ref, { cols: 80, rows: 24 }).session.then(
      () => new Error("another tenant opened a terminal"),
      (e: unknown) => e,
    );
    expect(String((opened as Error).message)).toMatch(/404|not found/i);
  });

  it("refuses a malformed terminal request with 400", async () => {
    const opened = await client.ptyStream(agent.ref, { cols: 0, rows: 24 }).session.then(
      () => new Error("cols 0 was accepted"),
      (e: unknown) => e,
    );
    expect(String((opened as Error).message)).toMatch(/cols/);
  });
});
