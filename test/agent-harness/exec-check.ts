// Drives agent/exec/ (through the stream table, as a session does) with real child processes on whichever runtime runs this file, playing the
// control plane's side of the exec frames, and prints one JSON report; agent/exec.test.ts runs it
// under Bun and Deno and checks the report. Each scenario catches its own failure.
import { existsSync } from "node:fs";
import { ExecStreams } from "../../agent/exec/index.ts";
import type { Outgoing } from "../../agent/outgoing.ts";
import { detectRuntime } from "../../agent/runtime/index.ts";
import { type OpenFrame, type StreamFrame, StreamTable } from "../../agent/stream-table.ts";
import { MAX_CHUNK_BYTES } from "../../schema/protocol/index.ts";

const runtime = detectRuntime();
const report: Record<string, unknown> = {};
const decoder = new TextDecoder();

// ## A fake control plane: records what the agent sends, per stream

const sent: Outgoing[] = [];
let listeners: (() => void)[] = [];
const table = new StreamTable();
const streams = new ExecStreams({
  runtime,
  send: (frame) => {
    sent.push(frame);
    for (const l of listeners) l();
  },
  table,
  drainGraceMs: 300,
});
table.register({
  "exec.open": streams,
  "pty.open": undefined,
  "console.open": undefined,
  "tcp.open": undefined,
  "logs.open": undefined,
}); // only exec is under test here
let nextSid = 1;
let seq = 1;

function framesOf(sid: number) {
  return sent.filter((f) => "sid" in f && f.sid === sid);
}

type ExecFrame = Extract<
  OpenFrame | StreamFrame,
  { t: "exec.open" | "stdin" | "signal" | "credit" | "close" }
>;
type Unnumbered = ExecFrame extends infer F ? (F extends ExecFrame ? Omit<F, "seq"> : never) : never;

function deliver(frame: Unnumbered): void {
  table.receive({ ...frame, seq: seq++ } as ExecFrame);
}

function open(
  argv: string[],
  extra: { cwd?: string; env?: Record<string, string>; timeout?: number; credit?: number } = {},
) {
  const sid = nextSid;
  nextSid += 2;
  deliver({ t: "exec.open", sid, argv, credit: 1 << 24, ...extra });
  return sid;
}

/** Resolves once `check` is true of what was sent, or rejects after `ms`. */
function until(check: () => boolean, ms = 10_000): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      listeners = listeners.filter((l) => l !== listener);
      reject(new Error(`timed out after ${ms} ms`));
    }, ms);
    const listener = () => {
      if (!check()) return;
      clearTimeout(timer);
      listeners = listeners.filter((l) => l !== listener);
      resolve();
    };
    listeners.push(listener);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exitOf = (sid: number) => framesOf(sid).find((f) => f.t === "exit");
const exited = (sid: number, ms?: number) => until(() => exitOf(sid) !== undefined, ms);

function summary(sid: number) {
  const frames = framesOf(sid);
  const text = (t: string) =>
    frames
      .filter((f) => f.t === t)
      .map((f) => decoder.decode((f as { data: Uint8Array }).data))
      .join("");
  const exit = exitOf(sid) as { code: number | null; signal?: string } | undefined;
  return {
    types: frames.map((f) => f.t),
    stdout: text("stdout"),
    stderr: text("stderr"),
    exit: exit ? { code: exit.code, signal: exit.signal ?? null } : null,
    exitIsLast: frames.at(-1)?.t === "exit",
  };
}

async function scenario(name: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    report[name] = await fn();
  } catch (error) {
    report[name] = { threw: error instanceof Error ? error.message : String(error) };
  }
}

// ## Scenarios (run concurrently on one ExecStreams, as on one connection)

const scenarios: Record<string, () => Promise<unknown>> = {
  async output() {
    const sid = open(["sh", "-c", "echo hi; echo err >&2; exit 3"]);
    deliver({ t: "stdin", sid, data: new Uint8Array(0), eof: true });
    await exited(sid);
    const credit = framesOf(sid).find((f) => f.t === "credit") as { bytes: number } | undefined;
    return { ...summary(sid), firstIsCredit: framesOf(sid)[0]?.t === "credit", stdinCredit: credit?.bytes };
  },

  async credit() {
    // 5 MB of output with 64 KiB of credit: no more than 64 KiB goes out until more is granted.
    const sid = open(["sh", "-c", "head -c 5000000 /dev/zero; echo done >&2"], { credit: 65536 });
    const bytes = () =>
      framesOf(sid)
        .filter((f) => f.t === "stdout" || f.t === "stderr")
        .reduce((n, f) => n + (f as { data: Uint8Array }).data.length, 0);
    await until(() => bytes() >= 65536, 5000).catch(() => {});
    await sleep(1000);
    const beforeMore = { bytes: bytes(), exited: exitOf(sid) !== undefined };
    // Now drain like a reader would: grant 256 KiB for every 256 KiB received.
    let granted = 65536;
    let overdrawn = false;
    const drain = () => {
      if (bytes() > granted) overdrawn = true;
      while (granted - bytes() < 65536) {
        granted += 256 * 1024;
        deliver({ t: "credit", sid, bytes: 256 * 1024 });
      }
    };
    listeners.push(drain);
    drain();
    await exited(sid, 30_000);
    listeners = listeners.filter((l) => l !== drain);
    const s = summary(sid);
    const largest = Math.max(
      ...framesOf(sid)
        .filter((f) => f.t === "stdout")
        .map((f) => (f as { data: Uint8Array }).data.length),
    );
    return {
      beforeMore,
      total: s.stdout.length,
      stderr: s.stderr,
      exit: s.exit,
      exitIsLast: s.exitIsLast,
      overdrawn,
      chunksWithinLimit: largest <= MAX_CHUNK_BYTES,
    };
  },

  async timeout() {
    const started = Date.now();
    const sid = open(["sleep", "30"], { timeout: 300 });
    await exited(sid);
    return { ...summary(sid), ms: Date.now() - started };
  },

  async notFound() {
    const sid = open(["definitely-not-a-command"]);
    await exited(sid);
    return summary(sid);
  },

  async permission() {
    const sid = open(["/etc/passwd"]);
    await exited(sid);
    return summary(sid);
  },

  async badCwd() {
    const sid = open(["pwd"], { cwd: "/definitely/not/here" });
    await exited(sid);
    return summary(sid);
  },

  async noCreditForTheError() {
    // A spawn failure's message waits for credit like any output.
    const sid = open(["definitely-not-a-command"], { credit: 0 });
    await sleep(300);
    const before = summary(sid).types;
    deliver({ t: "credit", sid, bytes: 10 });
    await until(() => summary(sid).stderr.length >= 10);
    await sleep(200);
    const partial = summary(sid);
    deliver({ t: "credit", sid, bytes: 1000 });
    await exited(sid);
    return { before, partial: partial.stderr, partialExit: partial.exit, after: summary(sid) };
  },

  async stdin() {
    // 1 MiB through cat, sent only within the credit the agent grants.
    const sid = open(["cat"]);
    const input = new Uint8Array(1024 * 1024).map((_, i) => 97 + (i % 26));
    let granted = 0;
    let offset = 0;
    const pump = () => {
      granted = framesOf(sid)
        .filter((f) => f.t === "credit")
        .reduce((n, f) => n + (f as { bytes: number }).bytes, 0);
      while (offset < input.length && offset < granted) {
        const end = Math.min(input.length, granted, offset + 100_000);
        const last = end === input.length;
        deliver({ t: "stdin", sid, data: input.subarray(offset, end), ...(last ? { eof: true } : {}) });
        offset = end;
      }
    };
    listeners.push(pump);
    pump();
    await exited(sid, 20_000);
    listeners = listeners.filter((l) => l !== pump);
    const s = summary(sid);
    return { same: s.stdout === decoder.decode(input), length: s.stdout.length, exit: s.exit, granted };
  },

  async stdinKeystrokes() {
    // 64 keys one at a time, each echoed by cat before the next: credit goes back in batches, not
    // in a frame per key (each rode the relay just ahead of the key's echo).
    const sid = open(["cat"]);
    await until(() => framesOf(sid).some((f) => f.t === "credit"));
    for (let i = 0; i < 64; i++) {
      deliver({ t: "stdin", sid, data: new Uint8Array([97 + (i % 26), 10]) });
      await until(() => summary(sid).stdout.length >= (i + 1) * 2);
    }
    deliver({ t: "stdin", sid, data: new Uint8Array(0), eof: true });
    await exited(sid);
    return {
      credits: framesOf(sid).filter((f) => f.t === "credit").length,
      echoed: summary(sid).stdout.length,
    };
  },

  async stdinBeyondCredit() {
    const sid = open(["cat"]);
    await until(() => framesOf(sid).some((f) => f.t === "credit"));
    deliver({ t: "stdin", sid, data: new Uint8Array(MAX_CHUNK_BYTES) });
    deliver({ t: "stdin", sid, data: new Uint8Array(MAX_CHUNK_BYTES) });
    await sleep(500);
    return summary(sid);
  },

  async signal() {
    const sid = open(["sleep", "30"]);
    await sleep(100);
    deliver({ t: "signal", sid, name: "SIGFOO" });
    deliver({ t: "signal", sid, name: "SIGTERM" });
    await exited(sid);
    const error = framesOf(sid).find((f) => f.t === "error") as { code: string } | undefined;
    return { ...summary(sid), error: error?.code };
  },

  async close() {
    const sid = open(["sh", "-c", "echo $$; exec sleep 30"]);
    await until(() => summary(sid).stdout.includes("\n"));
    const pid = summary(sid).stdout.trim();
    deliver({ t: "close", sid });
    await sleep(500);
    return { ...summary(sid), alive: existsSync(`/proc/${pid}`) };
  },

  async env() {
    const sid = open(
      ["sh", "-c", 'echo "$GREETING $OUTPOST_EXEC_CHECK"; command -v sh >/dev/null && echo path'],
      {
        env: { GREETING: "hej" },
      },
    );
    deliver({ t: "stdin", sid, data: new Uint8Array(0), eof: true });
    await exited(sid);
    return summary(sid);
  },

  async backgroundChild() {
    // The grandchild keeps the pipes open; the stream still ends soon after the process exits.
    const started = Date.now();
    const sid = open(["sh", "-c", "sleep 5 & echo started"]);
    await exited(sid);
    return { ...summary(sid), ms: Date.now() - started };
  },

  async many() {
    const sids = Array.from({ length: 20 }, (_, i) => open(["sh", "-c", `sleep 0.2; echo ${i}`]));
    await Promise.all(sids.map((sid) => exited(sid)));
    return sids.map((sid) => summary(sid).stdout.trim());
  },
};

const only = runtime.argv.length > 0 ? runtime.argv : Object.keys(scenarios);
await Promise.all(only.map((name) => scenario(name, scenarios[name] ?? (async () => "no such scenario"))));
await streams.idle();
report.leftOpen = table.size;
console.log(JSON.stringify(report));
runtime.exit(0);
