// The runtime seam, for real, under Bun and under Deno: test/agent-harness/seam-check.ts runs on each and
// reports what it saw.
import { describe, expect, it } from "vitest";
import { RUNTIMES, report } from "../test/agent-harness/processes.ts";

describe.each(RUNTIMES)("runtime seam on %s", (runtime) => {
  // biome-ignore lint/suspicious/noExplicitAny: a JSON report, checked field by field below
  let r: Record<string, any>;

  it("runs the seam checks", async () => {
    r = await report(runtime, "seam-check.ts", ["one", "two"], { OUTPOST_SEAM_SECRET: "inherited?" });
    expect(Object.entries(r).filter(([, v]) => v?.threw)).toEqual([]);
  });

  it("knows which runtime it is, its argv, env and hostname", () => {
    expect(r.identity).toMatchObject({ name: runtime, argv: ["one", "two"], home: true, envAll: "string" });
    expect(r.identity.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.identity.hostname.length).toBeGreaterThan(0);
  });

  it("computes HMAC-SHA256 (the data keys' MAC) as RFC 4231 and WebCrypto do", () => {
    expect(r.hmac).toEqual({
      rfc4231: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      matchesWebCrypto: true,
    });
  });

  it("spawns argv with separate stdout and stderr and the exit code", () => {
    expect(r.output).toEqual({ pid: true, stdout: "hi\n", stderr: "err\n", exit: { code: 3 } });
  });

  it("round-trips stdin through cat", () => {
    expect(r.stdin).toEqual({ length: 6 + 1024 * 1024, head: "hello\n", exit: { code: 0 } });
  });

  it("kills with a signal and reports it, and ignores a kill after exit", () => {
    expect(r.kill).toEqual({ code: null, signal: "SIGTERM" });
  });

  it("refuses an unknown signal with TypeError", () => {
    expect(r.badSignal).toEqual({ error: "TypeError", exit: { code: null, signal: "SIGKILL" } });
  });

  it("passes exactly the environment given, and the cwd", () => {
    expect(r.envAndCwd).toEqual({ stdout: "/tmp\nbar:\n", stderr: "", exit: { code: 0 } });
  });

  it("tells not found, permission denied and a bad cwd apart", () => {
    expect(r.spawnFailures.notFound).toMatchObject({ reason: "not_found" });
    expect(r.spawnFailures.notFound.message).toContain("definitely-not-a-command-xyz");
    expect(r.spawnFailures.permission).toMatchObject({ reason: "permission" });
    expect(r.spawnFailures.badCwd).toMatchObject({ reason: "bad_cwd" });
    expect(r.spawnFailures.badCwd.message).toContain("/definitely/not/a/dir");
  });

  it("does not read a pipe nobody reads: the child blocks", () => {
    expect(r.backpressure).toMatchObject({ finishedUnread: false, total: 5_000_000, stderr: "done\n" });
    expect(r.backpressure.exit).toEqual({ code: 0 });
  });

  it("connects and listens over TCP with half closes, and names why a connect failed", () => {
    expect(r.tcp).toEqual({
      answer: "got 3000000",
      inUse: "Error",
      afterClose: "refused",
      badName: "not_found",
    });
  });

  it("sends small writes at once (no Nagle delay on the sockets it opens and accepts)", () => {
    expect(r.nodelay).toEqual({ medianUnder20ms: true });
  });

  it("writes files atomically with their mode, and reads them back", () => {
    expect(r.files).toEqual({
      missing: true,
      back: "privkey:second\n",
      mode: "600",
      dirMode: "700",
      entries: ["a", "host.key"], // no temp files left behind
      removed: true,
    });
  });
});
