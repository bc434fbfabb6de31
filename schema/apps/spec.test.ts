import { describe, expect, it } from "vitest";
import { parseAppSpec, SpecError } from "./spec.ts";

const full = `
name = "shop"
cmd = ["bun", "server.js"]
env = { LOG_LEVEL = "info" }
restart = "on-failure"
stop_signal = "SIGINT"
stop_timeout = "3s"
release = ["bun", "migrate.js"]
listen = "127.0.0.1:8080"
keep = 3
user = "www-data"
revert_window = "30s"
[health]
http = "/healthz"
interval = "500ms"
timeout = "1s"
grace = "10s"
`;

function refusal(text: string): SpecError {
  try {
    parseAppSpec(text);
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    return error as SpecError;
  }
  throw new Error("expected the spec to be refused");
}

describe("outpost.toml", () => {
  it("reads every key", () => {
    expect(parseAppSpec(full)).toEqual({
      name: "shop",
      cmd: ["bun", "server.js"],
      env: { LOG_LEVEL: "info" },
      restart: "on-failure",
      stopSignal: "SIGINT",
      stopTimeout: 3000,
      hook: ["bun", "migrate.js"],
      listen: "127.0.0.1:8080",
      keep: 3,
      user: "www-data",
      revertWindow: 30_000,
      health: { http: "/healthz", interval: 500, timeout: 1000, grace: 10_000 },
    });
  });

  it("fills defaults", () => {
    expect(parseAppSpec('name = "a"\ncmd = ["x"]')).toEqual({
      name: "a",
      cmd: ["x"],
      env: {},
      restart: "always",
      stopSignal: "SIGTERM",
      stopTimeout: 10_000,
      keep: 5,
      revertWindow: 60_000,
    });
  });

  it("lets flags override the file", () => {
    const spec = parseAppSpec(full, { name: "shop2", keep: 9, listen: "127.0.0.1:9090" });
    expect([spec.name, spec.keep, spec.listen]).toEqual(["shop2", 9, "127.0.0.1:9090"]);
    expect(parseAppSpec('cmd = ["x"]', { name: "from-flag" }).name).toBe("from-flag");
  });

  it("refuses an unknown key, naming it", () => {
    const e = refusal('name = "a"\ncmd = ["x"]\nport = 80');
    expect(e.key).toBe("port");
    expect(e.message).toMatch(/unknown key port/);
    expect(refusal('name = "a"\ncmd = ["x"]\n[health]\nhttp = "/"\nretries = 3').key).toBe("health.retries");
  });

  it("refuses a wrong type, naming the key", () => {
    expect(refusal('name = "a"\ncmd = "bun server.js"').message).toMatch(/cmd must be a non-empty array/);
    expect(refusal('name = "a"\ncmd = ["x"]\nkeep = "5"').key).toBe("keep");
    expect(refusal('name = "a"\ncmd = ["x"]\nkeep = 0').key).toBe("keep");
    expect(refusal('name = "a"\ncmd = ["x"]\nstop_timeout = 10').message).toMatch(
      /stop_timeout must be a duration/,
    );
    expect(refusal('name = "a"\ncmd = ["x"]\nrestart = "sometimes"').key).toBe("restart");
    expect(refusal('name = "a"\ncmd = ["x"]\n[health]\ntcp = true\nhttp = "/"').key).toBe("health");
    expect(refusal('name = "a"\ncmd = ["x"]\n[health]\nhttp = "healthz"').key).toBe("health.http");
    expect(refusal('name = "a"\ncmd = ["x"]\nlisten = "0.0.0.0"').key).toBe("listen");
    expect(refusal('name = "A B"\ncmd = ["x"]').key).toBe("name");
    expect(refusal('name = "a"\ncmd = ["x"]\nenv = { PORT = "1" }').key).toBe("env.PORT");
    expect(refusal('name = "a"\ncmd = ["x"]\nenv = { A = 1 }').key).toBe("env.A");
    expect(refusal('name = "a"').key).toBe("cmd");
  });

  it("takes image instead of cmd, and refuses an image podman could read as a flag", () => {
    expect(parseAppSpec('name = "a"\nimage = "localhost/box:1"')).toMatchObject({
      image: "localhost/box:1",
      cmd: [],
    });
    expect(parseAppSpec('name = "a"\nimage = "localhost/box:1"\ncmd = ["/bin/sh", "-c", "x"]').cmd).toEqual([
      "/bin/sh",
      "-c",
      "x",
    ]);
    expect(refusal('name = "a"\nimage = "--privileged"').key).toBe("image");
    expect(refusal('name = "a"\nimage = "box latest"').key).toBe("image");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal argv item outpost.toml spells
    expect(refusal('name = "a"\nimage = "x:1"\ncmd = ["${OUTPOST_RUNTIME}", "s.js"]').key).toBe("cmd");
  });

  it("takes a user name or a numeric uid, and refuses anything setpriv or podman could misread", () => {
    expect(parseAppSpec('name = "a"\ncmd = ["x"]\nuser = "1000"').user).toBe("1000");
    expect(parseAppSpec('name = "a"\ncmd = ["x"]\nuser = "_svc-1"').user).toBe("_svc-1");
    for (const bad of ["-rf", "--reuid=0", "root;id", "a b", "../etc", "Admin", "1000:0", "", "x".repeat(40)])
      expect(refusal(`name = "a"\ncmd = ["x"]\nuser = ${JSON.stringify(bad)}`).key, bad).toBe("user");
    expect(refusal('name = "a"\ncmd = ["x"]\nuser = 1000').key).toBe("user");
  });

  it("refuses TOML that does not parse, with its line", () => {
    expect(refusal('name = "a"\ncmd = [\n').message).toMatch(/not valid TOML \(line \d+\)/);
  });
});
