// resolveRunAs (run-as.ts) under real Bun and Deno, as root and as an unprivileged user (nobody,
// through setpriv): a non-root agent refuses another user, saying it must run as root; its own user
// and root-as-root need no switch; an unknown user is refused naming it.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const isRoot = process.getuid?.() === 0;

/** Runs resolveRunAs for each of `users` in a real `runtime` process, optionally as `as`. */
function resolveIn(runtime: "bun" | "deno", users: string[], as?: string): Record<string, string> {
  const dir = mkdtempSync("/tmp/run-as-test-");
  chmodSync(dir, 0o755);
  const script = join(dir, "probe.ts");
  writeFileSync(
    script,
    `import { resolveRunAs } from "${root}agent/apps/run-as.ts";
import { detectRuntime } from "${root}agent/runtime/index.ts";
const out: Record<string, string> = {};
for (const u of ${JSON.stringify(users)}) {
  try { const r = await resolveRunAs(detectRuntime(), u); out[u] = r ? "switch to " + r.uid : "no switch"; }
  catch (e) { out[u] = "refused: " + (e as Error).message; }
}
console.log(JSON.stringify(out));
`,
  );
  chmodSync(script, 0o644);
  const bin = join(root, "node_modules/.bin", runtime);
  const argv = runtime === "bun" ? [bin, script] : [bin, "run", "-A", script];
  const full = as ? ["setpriv", `--reuid=${as}`, `--regid=${as}`, "--clear-groups", "--", ...argv] : argv;
  try {
    const text = execFileSync(full[0]!, full.slice(1), {
      cwd: dir,
      env: { ...process.env, HOME: dir, DENO_DIR: join(dir, "deno") },
    });
    return JSON.parse(text.toString().trim().split("\n").pop()!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!isRoot).each(["bun", "deno"] as const)("resolveRunAs on %s", (runtime) => {
  it("as root: switches to another user, not to root, and refuses an unknown one", () => {
    const nobody = Number(execFileSync("id", ["-u", "nobody"]).toString());
    const got = resolveIn(runtime, ["nobody", String(nobody), "root", "no-such-user-x"]);
    expect(got.nobody).toBe(`switch to ${nobody}`);
    expect(got[String(nobody)]).toBe(`switch to ${nobody}`);
    expect(got.root).toBe("no switch");
    expect(got["no-such-user-x"]).toMatch(/^refused: user no-such-user-x .*does not exist on this host/);
  }, 60_000);

  it("as a user that is not root: its own user runs as is, another is refused saying it needs root", () => {
    const nobody = execFileSync("id", ["-u", "nobody"]).toString().trim();
    const got = resolveIn(runtime, ["nobody", "root", "daemon"], nobody);
    expect(got.nobody).toBe("no switch");
    expect(got.root).toMatch(/^refused: user root .*needs the agent to run as root, and it runs as uid \d+/);
    expect(got.daemon).toMatch(/needs the agent to run as root/);
  }, 60_000);
});
