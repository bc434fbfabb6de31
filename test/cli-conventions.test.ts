// The CLI's conventions (issue 12, items 5, 7, 8 and 10), as a user meets them: real `outpost`
// processes against a real control plane, the bundle beside the bin, real bash for completion and
// real OpenSSH (`ssh -G`) for the generated config. Hosts are enrolled over HTTP (no agent needed).
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Outpost } from "../sdk/outpost.ts";
import { CLI_BIN, type CliResult, runCli } from "./harness/cli.ts";
import { signedEnrollment } from "./harness/enrollment.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";

const BUNDLE = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const VERSION = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version;

let stack: Stack;
let acme: { token: string; client: Outpost };
let other: { token: string; client: Outpost };
let env: Record<string, string>;

const freshConfig = () => mkdtempSync(join(tmpdir(), "outpost-cfg-"));

/** Enrolls `name` in prod/fra1 over HTTP, with the labels its token pins. */
async function enroll(client: Outpost, name: string, labels?: Record<string, string>) {
  const { token } = await client.tokens.create({
    cluster: "prod",
    site: "fra1",
    ...(labels ? { labels } : {}),
  });
  const res = await raw(stack, "POST", "/v1/enroll", { body: await signedEnrollment(token, name) });
  if (res.status !== 201) throw new Error(`enroll ${name}: ${JSON.stringify(res.body)}`);
}

/** `node dist/cli.js …`, as the README says the CLI runs (asynchronously: the Worker shares this loop). */
function runBundle(args: string[], extra: Record<string, string | undefined>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BUNDLE, ...args],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...extra },
        encoding: "utf8",
        timeout: 30_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        if (err && code === -1) reject(err);
        else resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  stack = await startStack();
  acme = await stack.tenantInProd("acme");
  other = await stack.tenantInProd("other");
  env = { OUTPOST_URL: stack.url, OUTPOST_TOKEN: acme.token, XDG_CONFIG_HOME: freshConfig() };
  await enroll(acme.client, "web01", { env: "prod", tier: "web" });
  await enroll(acme.client, "db01");
  await enroll(other.client, "theirs");
  // A second saved login, to the other tenant: completion must use it when the line names it.
  const saved = await runCli(["--profile", "theirs", "login", stack.url, "--token", other.token], {
    XDG_CONFIG_HOME: env.XDG_CONFIG_HOME!,
  });
  if (saved.code !== 0) throw new Error(`login --profile theirs: ${saved.stderr}`);
});
afterAll(() => stack?.close());

describe("the bundle and the bin", () => {
  it("node dist/cli.js behaves exactly like the outpost bin", async () => {
    for (const args of [
      ["hosts"],
      ["hosts", "--json"],
      ["cluster", "ls", "--json"],
      ["hosts", "--help"],
      ["frobnicate"],
      ["--version"],
    ]) {
      const viaBin = await runCli(args, env);
      const viaBundle = await runBundle(args, env);
      expect(viaBundle, args.join(" ")).toEqual(viaBin);
    }
    expect((await runBundle(["hosts"], env)).stdout).toContain("web01.prod");
  });

  it("prints its version from package.json", async () => {
    expect(await runCli(["--version"])).toMatchObject({ code: 0, stdout: `outpost ${VERSION}\n` });
  });
});

describe("profiles, login, whoami, logout", () => {
  it("keeps one login per profile, picked by --profile or OUTPOST_PROFILE; logout removes it", async () => {
    const cfg = freshConfig();
    const e = { XDG_CONFIG_HOME: cfg };
    expect((await runCli(["login", stack.url, "--token", acme.token], e)).code).toBe(0);
    const b = await runCli(["--profile", "b", "login", stack.url, "--token", other.token], e);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain("profile 'b'");

    const mine = await runCli(["whoami"], e);
    expect(mine.code, mine.stderr).toBe(0);
    expect(mine.stdout).toMatch(new RegExp(`url: +${stack.url}`));
    expect(mine.stdout).toMatch(/tenant: +acme/);
    expect(mine.stdout).toMatch(/key: +admin \(key_/);
    expect(mine.stdout).toMatch(/role: +admin/);
    expect(mine.stdout).toMatch(/expires: +never/);
    expect((await runCli(["--profile", "b", "whoami"], e)).stdout).toMatch(/tenant: +other/);
    expect((await runCli(["whoami"], { ...e, OUTPOST_PROFILE: "b" })).stdout).toMatch(/tenant: +other/);
    const json = JSON.parse((await runCli(["--profile", "b", "whoami", "--json"], e)).stdout);
    expect(json).toMatchObject({
      url: stack.url,
      profile: "b",
      tenant: { name: "other" },
      key: { role: "admin" },
    });
    // An explicit --profile wins over OUTPOST_URL / OUTPOST_TOKEN.
    expect(
      (
        await runCli(["--profile", "b", "whoami"], {
          ...e,
          OUTPOST_URL: "http://127.0.0.1:9",
          OUTPOST_TOKEN: "x",
        })
      ).code,
    ).toBe(0);

    expect((await runCli(["--profile", "b", "logout"], e)).code).toBe(0);
    const gone = await runCli(["--profile", "b", "hosts"], e);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("not logged in (profile 'b')");
    expect((await runCli(["hosts"], e)).code).toBe(0); // default untouched
    expect((await runCli(["--profile", "b", "logout"], e)).code).toBe(1);
    expect((await runCli(["--profile", "Bad_Name", "hosts"], e)).code).toBe(2);
  });

  it("reads the old single-login file as the default profile and migrates it on the next write", async () => {
    const cfg = freshConfig();
    mkdirSync(join(cfg, "outpost"));
    const file = join(cfg, "outpost", "config.json");
    writeFileSync(file, JSON.stringify({ url: stack.url, token: acme.token }), { mode: 0o600 });
    expect((await runCli(["whoami"], { XDG_CONFIG_HOME: cfg })).stdout).toMatch(/tenant: +acme/);
    expect(
      (await runCli(["--profile", "b", "login", stack.url, "--token", other.token], { XDG_CONFIG_HOME: cfg }))
        .code,
    ).toBe(0);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({
      version: 2,
      profiles: { default: { url: stack.url, token: acme.token }, b: { url: stack.url, token: other.token } },
    });
  });

  it("login wants --token, or says it took $OUTPOST_TOKEN", async () => {
    const e = { XDG_CONFIG_HOME: freshConfig(), OUTPOST_TOKEN: acme.token };
    const missing = await runCli(["login", stack.url], e);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing --token");
    const fromEnv = await runCli(["login", stack.url, "--token-from-env"], e);
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(fromEnv.stderr).toContain("$OUTPOST_TOKEN");
  });
});

describe("hosts", () => {
  it("shows labels, filters by --status revoked and --site C/S, and revokes and removes with --force", async () => {
    const ls = await runCli(["hosts"], env);
    expect(ls.stdout).toMatch(/^HOST\s+SITE\s+STATUS\s+LAST SEEN\s+LABELS/);
    expect(ls.stdout).toMatch(/web01\.prod\s+prod\/fra1\s+pending\s+never\s+env=prod,tier=web/);
    expect(ls.stdout).not.toContain("host_"); // ids only with --wide
    expect((await runCli(["hosts", "--wide"], env)).stdout).toMatch(/host_[A-Za-z0-9_-]{16}/);
    expect((await runCli(["hosts", "--site", "prod/fra1"], env)).stdout).toContain("web01.prod");
    expect((await runCli(["hosts", "--site", "prod/nowhere"], env)).stdout).toContain("(none)");

    // Not on a terminal and no --force: refused as mistyped, nothing changed.
    const unforced = await runCli(["hosts", "revoke", "db01.prod"], env);
    expect(unforced.code).toBe(2);
    expect(unforced.stderr).toContain("--force");
    expect((await acme.client.hosts.get("db01.prod")).host.revokedAt).toBeNull();

    expect((await runCli(["hosts", "revoke", "db01.prod", "--force"], env)).code).toBe(0);
    const revoked = JSON.parse((await runCli(["hosts", "--status", "revoked", "--json"], env)).stdout);
    expect(revoked.items.map((h: { fqdn: string }) => h.fqdn)).toEqual(["db01.prod"]);
    const pending = JSON.parse((await runCli(["hosts", "--status", "pending", "--json"], env)).stdout);
    expect(pending.items.map((h: { fqdn: string }) => h.fqdn)).toEqual(["web01.prod"]);

    // Another tenant's host is not found, and stays.
    const hostile = await runCli(["hosts", "rm", "theirs.prod", "--force"], env);
    expect(hostile.code).toBe(1);
    expect(hostile.stderr).toContain("404");
    expect((await other.client.hosts.get("theirs.prod")).host.name).toBe("theirs");

    const busy = await runCli(["cluster", "rm", "prod"], env);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(
      /still has 2 host\(s\) \(db01\.prod, web01\.prod\); remove each first with 'outpost hosts rm db01\.prod'/,
    );
    expect((await runCli(["hosts", "rm", "db01.prod", "--force"], env)).code).toBe(0);
    expect((await runCli(["hosts"], env)).stdout).not.toContain("db01.prod");
    const viewer = await acme.client.keys.create({ role: "viewer", name: "looker" });
    const denied = await runCli(["hosts", "rm", "web01.prod", "--force"], {
      ...env,
      OUTPOST_TOKEN: viewer.token,
    });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("403");
  });
});

describe("consistency", () => {
  it("answers validation errors in sentences that name the field", async () => {
    const res = await runCli(["audit", "--limit", "1000"], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("limit: must be a whole number from 1 to 500");
    const since = await runCli(["sessions", "--since", "yesterday"], env);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain("--since 'yesterday'");
    const apiSince = await raw(stack, "GET", "/v1/sessions?since=yesterday", { token: acme.token });
    expect(apiSince.body.error?.message).toBe(
      "since: must be an ISO 8601 time or a duration like 10m, 2h or 7d",
    );
  });

  it("lists as { items, nextCursor? } with ISO times and names, ids only with --wide", async () => {
    const audit = JSON.parse((await runCli(["audit", "--json", "--limit", "2"], env)).stdout);
    expect(Object.keys(audit).sort()).toEqual(["items", "nextCursor"]);
    expect(audit.items[0].at).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    const table = (await runCli(["audit", "--limit", "100"], env)).stdout;
    expect(table, table).toMatch(/admin\s+host\.revoke\s+db01\s+allowed/); // deleted since: its recorded name
    expect(table).toMatch(/admin\s+key\.create\s+looker/);
    expect(table).not.toMatch(/key:key_|host_[A-Za-z0-9_-]{16}/);
    expect((await runCli(["audit", "--wide", "--limit", "5"], env)).stdout).toMatch(/key:key_/);
    const tokens = (await runCli(["token", "ls"], env)).stdout;
    expect(tokens).toMatch(/used\s+.*web01\.prod/);
    for (const args of [
      ["cluster", "ls"],
      ["site", "ls"],
      ["keys", "ls"],
      ["token", "ls"],
      ["sessions"],
      ["mesh", "ls"],
      ["expose", "ls"],
    ]) {
      const out = JSON.parse((await runCli([...args, "--json"], env)).stdout);
      expect(Array.isArray(out.items), args.join(" ")).toBe(true);
    }
  });

  it("exec: everything after the host runs there; 255 when it cannot run at all", async () => {
    // `--help` after the host is the remote argv's: the host is looked up, not the help printed.
    const remoteHelp = await runCli(["nohost.prod", "--help"], env);
    expect(remoteHelp.stdout).toBe("");
    expect(remoteHelp.stderr).toContain("host 'nohost.prod' not found");
    expect(remoteHelp.code).toBe(255);
    expect((await runCli(["exec", "--timeout", "5s", "nohost.prod", "ls", "-la"], env)).code).toBe(255);
    expect((await runCli(["exec", "--help"], env)).stdout).toMatch(/^usage: outpost exec/);
    const offline = await runCli(["web01.prod", "true"], env);
    expect(offline.code).toBe(255);
    const unreachable = await runCli(["web01.prod", "true"], { ...env, OUTPOST_URL: "http://127.0.0.1:9" });
    expect(unreachable.code).toBe(255);
    expect((await runCli(["exec", "web01.prod"], env)).code).toBe(2);
    const notLoggedIn = await runCli(["web01.prod", "true"], { XDG_CONFIG_HOME: freshConfig() });
    expect(notLoggedIn.code).toBe(1);
  });
});

describe("completion", () => {
  it("completes commands, sub-commands, flags and host names in real bash", async () => {
    const bin = mkdtempSync(join(tmpdir(), "outpost-bin-"));
    symlinkSync(CLI_BIN, join(bin, "outpost"));
    const script = join(bin, "outpost.bash");
    writeFileSync(
      script,
      execFileSync(process.execPath, [CLI_BIN, "completion", "bash"], { encoding: "utf8" }),
    );
    // Asynchronously: host names come from the control plane, which runs on this process's loop.
    const complete = (words: string[]) =>
      new Promise<string[]>((resolve, reject) =>
        execFile(
          "bash",
          [
            "--norc",
            "-c",
            `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _outpost; printf '%s\\n' "\${COMPREPLY[@]}"`,
            "bash",
            script,
            ...words,
          ],
          { encoding: "utf8", env: { ...env, PATH: `${bin}:${process.env.PATH}` }, timeout: 30_000 },
          (err, stdout) => (err ? reject(err) : resolve(stdout.split("\n").filter(Boolean))),
        ),
      );
    expect(await complete(["outpost", "who"])).toEqual(["whoami"]);
    expect((await complete(["outpost", "cluster", ""])).sort()).toEqual(["create", "ls", "rm"]);
    expect((await complete(["outpost", "tenant", "domain", ""])).sort()).toEqual(["add", "ls", "rm"]);
    expect(await complete(["outpost", "hosts", "--st"])).toEqual(["--status"]);
    expect(await complete(["outpost", "hosts", ""])).toEqual(expect.arrayContaining(["rm", "revoke"]));
    expect(await complete(["outpost", "--profile", "x", "sess"])).toEqual(["sessions"]);
    expect(await complete(["outpost", "exec", "we"])).toEqual(["web01.prod"]);
    expect(await complete(["outpost", "web01.p"])).toEqual(["web01.prod"]);
    // After the host, the words are the remote command's.
    expect(await complete(["outpost", "web01.prod", "l"])).toEqual([]);
    // Host names come from the control plane of the profile the line names.
    expect(await complete(["outpost", "exec", "th"])).toEqual([]);
    expect(await complete(["outpost", "--profile", "theirs", "exec", "th"])).toEqual(["theirs.prod"]);
    expect(await complete(["outpost", "--profile=theirs", "theirs.p"])).toEqual(["theirs.prod"]);
  });

  it("completes commands, sub-commands, flags and host names in real zsh, at a terminal", async () => {
    const bin = mkdtempSync(join(tmpdir(), "outpost-bin-"));
    symlinkSync(CLI_BIN, join(bin, "outpost"));
    const script = join(bin, "outpost.zsh");
    writeFileSync(script, (await runCli(["completion", "zsh"])).stdout);
    const CLEAR = "\u0015"; // Ctrl-U: the line is empty again
    const steps = [
      // The marker is split so that the typed line's echo cannot match it.
      { write: `PS1='> '; autoload -U compinit && compinit -u; source ${script}; echo RE''ADY\n` },
      { expect: "READY\r?\n", timeout: 20 },
      { write: "outpost who\t" },
      { expect: "outpost whoami", timeout: 20 },
      { write: `${CLEAR}outpost cluster \t` },
      { expect: "create\\s+ls\\s+rm", timeout: 20 },
      { write: `${CLEAR}outpost hosts --st\t` },
      { expect: "outpost hosts --status", timeout: 20 },
      { write: `${CLEAR}outpost exec we\t` },
      { expect: "outpost exec web01\\.prod", timeout: 20 },
      { write: `${CLEAR}outpost --profile theirs exec th\t` },
      { expect: "exec theirs\\.prod", timeout: 20 },
      { write: `${CLEAR}exit\n` },
    ];
    const driver = fileURLToPath(new URL("./harness/pty-driver.py", import.meta.url));
    const result = await new Promise<{ output: string; error?: string }>((resolve, reject) =>
      execFile(
        "python3",
        [driver, JSON.stringify(steps), "--", "zsh", "-f", "-i"],
        {
          encoding: "utf8",
          env: { ...env, PATH: `${bin}:${process.env.PATH}`, HOME: bin, TERM: "xterm-256color" },
          timeout: 90_000,
        },
        (err, stdout) => (err && !stdout ? reject(err) : resolve(JSON.parse(stdout))),
      ),
    );
    expect(result.error, result.output).toBeUndefined();
  });

  it("completes commands, sub-commands, flags and host names in real fish", async () => {
    const bin = mkdtempSync(join(tmpdir(), "outpost-bin-"));
    symlinkSync(CLI_BIN, join(bin, "outpost"));
    const script = join(bin, "outpost.fish");
    writeFileSync(script, (await runCli(["completion", "fish"])).stdout);
    // Asynchronously: host names come from the control plane, which runs on this process's loop.
    const complete = (line: string) =>
      new Promise<string[]>((resolve, reject) =>
        execFile(
          "fish",
          ["--no-config", "-c", `source ${script}; complete -C '${line}'`],
          { encoding: "utf8", env: { ...env, PATH: `${bin}:${process.env.PATH}` }, timeout: 30_000 },
          (err, stdout) =>
            err
              ? reject(err)
              : resolve(
                  stdout
                    .split("\n")
                    .filter(Boolean)
                    .map((l) => l.split("\t")[0]!),
                ),
        ),
      );
    expect(await complete("outpost clu")).toEqual(["cluster"]);
    expect((await complete("outpost cluster ")).sort()).toEqual(["create", "ls", "rm"]);
    expect(await complete("outpost hosts --st")).toEqual(["--status"]);
    expect(await complete("outpost exec we")).toEqual(["web01.prod"]);
    expect(await complete("outpost --profile theirs exec th")).toEqual(["theirs.prod"]);
  });

  it("prints zsh and fish scripts too, and refuses other shells", async () => {
    expect((await runCli(["completion", "zsh"])).stdout).toContain("bashcompinit");
    expect((await runCli(["completion", "fish"])).stdout).toContain(
      "complete -c outpost -n __fish_use_subcommand -a hosts",
    );
    expect((await runCli(["completion", "tcsh"])).code).toBe(2);
  });
});

describe("ssh-config", () => {
  it("writes a pattern no real domain matches and a ProxyCommand that names the profile (ssh -G)", async () => {
    const res = await runCli(["ssh-config"], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).not.toMatch(/^Host \*\.prod$/m);
    const file = join(mkdtempSync(join(tmpdir(), "outpost-ssh-")), "config");
    writeFileSync(file, res.stdout);
    const resolved = (host: string) =>
      execFileSync("ssh", ["-G", "-F", file, host], { encoding: "utf8" })
        .split("\n")
        .find((l) => l.startsWith("proxycommand "));
    expect(resolved("web01.prod.outpost")).toBe(
      `proxycommand ${process.execPath} ${CLI_BIN} --profile default proxy --suffix .outpost %h ssh`,
    );
    expect(resolved("web01.prod")).toBeUndefined();
    expect(resolved("example.prod")).toBeUndefined();

    const listed = await runCli(["ssh-config", "--suffix", "", "--command", "outpost"], env);
    writeFileSync(file, listed.stdout);
    expect(resolved("web01.prod")).toBe("proxycommand outpost --profile default proxy %h ssh");
    expect(resolved("other.prod")).toBeUndefined();
  });
});
