// Exec streams with real child processes, under Bun and under Deno: test/agent-harness/exec-check.ts plays
// the control plane's side of the frames against agent/exec/ and reports what the agent sent.
import { describe, expect, it } from "vitest";
import { MAX_CHUNK_BYTES } from "../schema/protocol/index.ts";
import { RUNTIMES, report } from "../test/agent-harness/processes.ts";

describe.each(RUNTIMES)("exec streams on %s", (runtime) => {
  // biome-ignore lint/suspicious/noExplicitAny: a JSON report, checked field by field below
  let r: Record<string, any>;

  it("runs every scenario", async () => {
    r = await report(runtime, "exec-check.ts", [], { OUTPOST_EXEC_CHECK: "inherited" });
    expect(Object.entries(r).filter(([, v]) => v?.threw)).toEqual([]);
    expect(r.leftOpen).toBe(0);
  });

  it("grants stdin credit first, relays both outputs, and sends exit last", () => {
    // stdout and stderr are two pipes read side by side: either may be relayed first.
    const types = r.output.types as string[];
    expect([types[0], types.at(-1), types.slice(1, -1).sort()]).toEqual([
      "credit",
      "exit",
      ["stderr", "stdout"],
    ]);
    expect(r.output).toMatchObject({
      stdout: "hi\n",
      stderr: "err\n",
      exit: { code: 3, signal: null },
      firstIsCredit: true,
      stdinCredit: 256 * 1024,
    });
  });

  it("never sends beyond the credit: 5 MB with 64 KiB of credit stops at 64 KiB", () => {
    expect(r.credit.beforeMore).toEqual({ bytes: 65536, exited: false });
    expect(r.credit).toMatchObject({
      total: 5_000_000,
      stderr: "done\n",
      exit: { code: 0, signal: null },
      exitIsLast: true,
      overdrawn: false,
      chunksWithinLimit: true,
    });
    expect(MAX_CHUNK_BYTES).toBe(256 * 1024);
  });

  it("kills a process past its timeout with SIGKILL, and says so on stderr", () => {
    expect(r.timeout).toMatchObject({
      stderr: "outpost-agent: timed out after 300 ms\n",
      exit: { code: null, signal: "SIGKILL" },
      exitIsLast: true,
    });
    expect(r.timeout.ms).toBeLessThan(3000);
  });

  it("reports a spawn failure on stderr with exit 127, or 126 for permission", () => {
    expect(r.notFound).toMatchObject({ types: ["stderr", "exit"], exit: { code: 127, signal: null } });
    expect(r.notFound.stderr).toBe(
      'outpost-agent: cannot run "definitely-not-a-command": command not found\n',
    );
    expect(r.permission).toMatchObject({ exit: { code: 126, signal: null } });
    expect(r.permission.stderr).toContain("permission denied");
    expect(r.badCwd).toMatchObject({ exit: { code: 127, signal: null } });
    expect(r.badCwd.stderr).toContain('working directory "/definitely/not/here" does not exist');
  });

  it("holds even a spawn failure's message to the credit", () => {
    expect(r.noCreditForTheError.before).toEqual([]);
    expect(r.noCreditForTheError.partial).toBe("outpost-ag");
    expect(r.noCreditForTheError.partialExit).toBeNull();
    expect(r.noCreditForTheError.after.exit).toEqual({ code: 127, signal: null });
  });

  it("takes stdin within the credit it grants, and closes it on eof", () => {
    expect(r.stdin).toMatchObject({ same: true, length: 1024 * 1024, exit: { code: 0, signal: null } });
  });

  it("grants stdin credit back in batches, not a credit frame per keystroke", () => {
    expect(r.stdinKeystrokes).toEqual({ credits: 1, echoed: 128 });
  });

  it("closes a stream whose stdin overruns the credit", () => {
    expect(r.stdinBeyondCredit.types).toEqual(["credit", "close"]);
  });

  it("delivers signals, and reports an unknown one as an error frame", () => {
    expect(r.signal).toMatchObject({ error: "bad_signal", exit: { code: null, signal: "SIGTERM" } });
  });

  it("kills the process and goes quiet when the control plane closes the stream", () => {
    expect(r.close).toMatchObject({ types: ["credit", "stdout"], exit: null, alive: false });
  });

  it("adds env overrides to the agent's own environment", () => {
    expect(r.env).toMatchObject({ stdout: "hej inherited\npath\n", exit: { code: 0, signal: null } });
  });

  it("ends the stream soon after exit even when a background child holds the pipes", () => {
    expect(r.backgroundChild).toMatchObject({ stdout: "started\n", exit: { code: 0, signal: null } });
    expect(r.backgroundChild.ms).toBeLessThan(3000);
  });

  it("runs many at once, each with its own output", () => {
    expect(r.many).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });
});
