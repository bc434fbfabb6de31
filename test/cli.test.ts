// The `outpost` CLI as a user runs it: real processes against a real control plane.
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./harness/cli.ts";
import { type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let env: Record<string, string>;

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenant("cli");
  env = {
    OUTPOST_URL: stack.url,
    OUTPOST_TOKEN: t.token,
    XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), "outpost-cfg-")),
  };
});
afterAll(() => stack?.close());

describe("usage", () => {
  it("describes every command with --help", async () => {
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    for (const cmd of ["login", "tenant", "keys", "cluster", "site", "token", "hosts", "audit"]) {
      expect(top.stdout).toContain(cmd);
      const one = await runCli([cmd, "--help"]);
      expect(one.code, cmd).toBe(0);
      expect(one.stdout, cmd).toMatch(/^usage: outpost /);
    }
  });

  it("exits 2 with help on usage errors", async () => {
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("usage: outpost [--profile P] <command>");
    const unknown = await runCli(["frobnicate"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const missing = await runCli(["cluster", "create"], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("usage: outpost cluster create");
    const badFlag = await runCli(["hosts", "--bogus"], env);
    expect(badFlag.code).toBe(2);
    const badSite = await runCli(["site", "create", "noslash"], env);
    expect(badSite.code).toBe(2);
    expect(badSite.stderr).toContain("expected <cluster>/<site>");
  });

  it("runs the same from its TypeScript as from the bundle (a fresh clone, or a source edited since the build)", async () => {
    const bundled = await runCli(["hosts", "--help"]);
    const source = await runCli(["hosts", "--help"], { OUTPOST_CLI_FROM_SOURCE: "1" });
    expect(source.code).toBe(0);
    expect(source.stdout).toBe(bundled.stdout);
    const listed = await runCli(["cluster", "ls"], { ...env, OUTPOST_CLI_FROM_SOURCE: "1" });
    expect(listed.code, listed.stderr).toBe(0);
  });

  it("exits 1 when not logged in (a refusal, not a usage error)", async () => {
    const res = await runCli(["hosts"], { XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), "outpost-empty-")) });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("not logged in");
  });
});

describe("against the server", () => {
  it("creates clusters, sites and tokens; lists them as tables and JSON; exits 1 on refusal", async () => {
    expect((await runCli(["cluster", "create", "prod"], env)).code).toBe(0);
    const json = await runCli(["cluster", "create", "stage", "--json"], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: "stage", id: expect.stringMatching(/^cl_/) });

    const dup = await runCli(["cluster", "create", "prod"], env);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain("cluster 'prod' already exists");
    expect(dup.stderr).toContain("409");

    const invalid = await runCli(["cluster", "create", "Bad_Name"], env);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain("name: must be a DNS label");

    const ls = await runCli(["cluster", "ls"], env);
    expect(ls.stdout).toMatch(/^NAME\s+ID\s+CREATED/);
    expect(ls.stdout).toContain("prod");
    expect(
      JSON.parse((await runCli(["cluster", "ls", "--json"], env)).stdout).items.map(
        (c: { name: string }) => c.name,
      ),
    ).toEqual(["prod", "stage"]);

    expect((await runCli(["site", "create", "prod/fra1"], env)).code).toBe(0);
    expect((await runCli(["site", "ls", "prod"], env)).stdout).toContain("prod/fra1");

    const tok = await runCli(["token", "create", "prod/fra1", "--ttl", "30m", "--json"], env);
    expect(tok.code).toBe(0);
    const created = JSON.parse(tok.stdout);
    expect(created.token).toMatch(/^oet_/);
    expect(created.install).toContain("install.sh");
    const human = await runCli(["token", "create", "prod/fra1"], env);
    expect(human.stdout).toMatch(/token \(shown once\): oet_/);
    expect(human.stdout).toContain("curl -fsSL");
    const tls = await runCli(["token", "ls"], env);
    expect(tls.stdout).toContain(created.enrollment.id);
    expect(tls.stdout).not.toContain(created.token);
    expect((await runCli(["token", "revoke", created.enrollment.id], env)).code).toBe(0);
    const again = await runCli(["token", "revoke", created.enrollment.id], env);
    expect(again.code).toBe(1);

    const badTtl = await runCli(["token", "create", "prod/fra1", "--ttl", "48h"], env);
    expect(badTtl.code).toBe(1);
    expect(badTtl.stderr).toContain("ttl:");

    expect((await runCli(["site", "rm", "prod/fra1"], env)).code).toBe(0);
    expect((await runCli(["cluster", "rm", "stage"], env)).code).toBe(0);
    expect((await runCli(["cluster", "rm", "stage"], env)).code).toBe(1);
  });

  it("manages keys, shows secrets once, and lists hosts and audit", async () => {
    const k = await runCli(["keys", "create", "--role", "viewer", "--json"], env);
    expect(k.code).toBe(0);
    const key = JSON.parse(k.stdout);
    expect(key.token).toMatch(/^opk_/);
    const viewerEnv = { ...env, OUTPOST_TOKEN: key.token };
    expect((await runCli(["hosts"], viewerEnv)).code).toBe(0);
    const denied = await runCli(["cluster", "create", "nope"], viewerEnv);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("403");
    const ls = await runCli(["keys", "ls"], env);
    // Once in CI this printed nothing at all: say why if it happens again.
    expect(ls, `outpost keys ls failed: ${ls.stderr}`).toMatchObject({ code: 0 });
    expect(ls.stdout).toContain(key.key.id);
    expect(ls.stdout).not.toContain(key.token);
    expect((await runCli(["keys", "revoke", key.key.id], env)).code).toBe(0);
    expect((await runCli(["hosts"], viewerEnv)).code).toBe(1);
    expect((await runCli(["keys", "create"], env)).code).toBe(2);

    expect(JSON.parse((await runCli(["hosts", "--json"], env)).stdout)).toEqual({ items: [] });
    const audit = await runCli(["audit", "--json", "--limit", "3"], env);
    expect(JSON.parse(audit.stdout).items).toHaveLength(3);
    expect(JSON.parse(audit.stdout).nextCursor).toMatch(/^\d+$/);
    expect((await runCli(["audit"], env)).stdout).toContain("key.revoke");
  });

  it("creates tenants with the platform admin token", async () => {
    const res = await runCli(["tenant", "create", "second", "--json"], {
      ...env,
      OUTPOST_ADMIN_TOKEN: stack.adminToken,
    });
    expect(res.code).toBe(0);
    const t = JSON.parse(res.stdout);
    expect(t.token).toMatch(/^opk_/);
    const theirs = await runCli(["cluster", "ls", "--json"], { ...env, OUTPOST_TOKEN: t.token });
    expect(JSON.parse(theirs.stdout)).toEqual({ items: [] });
    expect((await runCli(["tenant", "create", "third"], env)).code).toBe(1);
    expect((await runCli(["tenant", "create", "third"], { ...env, OUTPOST_ADMIN_TOKEN: "wrong" })).code).toBe(
      1,
    );
  });

  it("logs in, saving the key with mode 0600", async () => {
    const cfg = mkdtempSync(join(tmpdir(), "outpost-login-"));
    const res = await runCli(["login", stack.url, "--token", env.OUTPOST_TOKEN!], { XDG_CONFIG_HOME: cfg });
    expect(res.code).toBe(0);
    const file = join(cfg, "outpost", "config.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({
      version: 2,
      profiles: { default: { url: stack.url, token: env.OUTPOST_TOKEN } },
    });
    expect((await runCli(["cluster", "ls"], { XDG_CONFIG_HOME: cfg })).code).toBe(0);
    const bad = await runCli(["login", stack.url, "--token", "opk_wrong"], {
      XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), "o-")),
    });
    expect(bad.code).toBe(1);
  });

  it("exits 1 with a clear message when the control plane is unreachable", async () => {
    const res = await runCli(["hosts"], { ...env, OUTPOST_URL: "http://127.0.0.1:9" });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("cannot reach the control plane at http://127.0.0.1:9");
  });
});
