import { describe, expect, it } from "vitest";
import {
  parseAllowNets,
  parseControlPlaneUrl,
  parseFlags,
  parseLabels,
  parseName,
  parseServices,
} from "./args.ts";
import { AgentError } from "./errors.ts";

const usage = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AgentError);
    expect((error as AgentError).exitCode).toBe(2);
    return (error as AgentError).message;
  }
  throw new Error("expected a usage error");
};

describe("parseFlags", () => {
  const spec = { url: "string", force: "boolean" } as const;

  it("reads --flag value, --flag=value and switches", () => {
    expect(parseFlags("enroll", ["--url", "https://a", "--force"], spec)).toEqual({
      url: "https://a",
      force: true,
    });
    expect(parseFlags("enroll", ["--url=https://a=b"], spec)).toEqual({ url: "https://a=b" });
  });

  it("refuses unknown, repeated, valueless and stray arguments", () => {
    expect(usage(() => parseFlags("enroll", ["--nope"], spec))).toContain("unknown option --nope");
    expect(usage(() => parseFlags("enroll", ["--url", "a", "--url", "b"], spec))).toContain("given twice");
    expect(usage(() => parseFlags("enroll", ["--url"], spec))).toContain("--url needs a value");
    expect(usage(() => parseFlags("enroll", ["--url", "--force"], spec))).toContain("--url needs a value");
    expect(usage(() => parseFlags("enroll", ["--force=yes"], spec))).toContain("takes no value");
    expect(usage(() => parseFlags("enroll", ["stray"], spec))).toContain("unexpected argument 'stray'");
    expect(usage(() => parseFlags("enroll", ["--toString"], spec))).toContain("unknown option");
  });

  it("collects repeatable flags in order", () => {
    const list = { service: "list", "allow-loopback": "boolean" } as const;
    expect(parseFlags("run", ["--service", "a=1", "--service=b=2", "--allow-loopback"], list)).toEqual({
      service: ["a=1", "b=2"],
      "allow-loopback": true,
    });
    expect(parseFlags("run", [], list)).toEqual({});
    expect(usage(() => parseFlags("run", ["--service"], list))).toContain("--service needs a value");
  });
});

describe("stream policy flags", () => {
  it("reads --service name=address:port, a name, IPv6, or a bare port", () => {
    expect(
      parseServices(["postgres=127.0.0.1:5432", "db=db.internal:5432", "web=[fd00::5]:80", "pg=5432"]),
    ).toEqual([
      { name: "postgres", target: "127.0.0.1:5432", source: "local" },
      { name: "db", target: "db.internal:5432", source: "local" },
      { name: "web", target: "[fd00::5]:80", source: "local" },
      { name: "pg", target: "5432", source: "local" },
    ]);
  });

  it.each([
    ["postgres", "must be name=address:port"],
    ["=127.0.0.1:5432", "must be name=address:port"],
    ["Postgres=127.0.0.1:5432", "must be name=address:port"],
    ["pg=127.0.0.1", "--service pg: '127.0.0.1' has no port (expected host:port)"],
    ["pg=::1:22", "--service pg: '::1:22' is ambiguous"],
    ["pg=127.0.0.1:99999", "--service pg: port '99999' is out of range (1..65535)"],
    ["pg=0", "--service pg: port '0' must be 1..65535"],
    ["pg=http://x:1", "--service pg: 'http://x:1' is not host:port"],
  ])("refuses --service %j", (value, words) => {
    expect(usage(() => parseServices([value]))).toContain(words);
  });

  it("refuses a service given twice", () => {
    expect(usage(() => parseServices(["a=1", "a=2"]))).toContain("--service: 'a' given twice");
  });

  it("reads --allow-net CIDRs and refuses bad ones with the reason", () => {
    expect(parseAllowNets(["10.1.0.0/16", "fd00::/8"]).map((c) => c.text)).toEqual([
      "10.1.0.0/16",
      "fd00::/8",
    ]);
    expect(usage(() => parseAllowNets(["10.1.2.3/16"]))).toContain(
      "--allow-net: '10.1.2.3/16': host bits are set (did you mean 10.1.0.0/16?)",
    );
    expect(usage(() => parseAllowNets(["10.1.0.0"]))).toContain(
      "--allow-net: '10.1.0.0': expected address/prefix",
    );
  });
});

describe("values", () => {
  it("normalises the control plane URL", () => {
    expect(parseControlPlaneUrl("https://cp.example.com/")).toBe("https://cp.example.com");
    expect(parseControlPlaneUrl("http://127.0.0.1:8787")).toBe("http://127.0.0.1:8787");
    expect(parseControlPlaneUrl("https://example.com/outpost//")).toBe("https://example.com/outpost");
    for (const bad of ["cp.example.com", "ftp://x", "https://x/?a=1", "https://u:p@x", "https://x/#f"]) {
      usage(() => parseControlPlaneUrl(bad));
    }
  });

  it("takes names that are DNS labels", () => {
    expect(parseName("web01")).toBe("web01");
    for (const bad of ["Web01", "-web", "web_01", "", "a".repeat(64)]) usage(() => parseName(bad));
  });

  it("parses labels", () => {
    expect(parseLabels("role=web, zone=a,example.com/tier=gold")).toEqual({
      role: "web",
      zone: "a",
      "example.com/tier": "gold",
    });
    expect(parseLabels("")).toEqual({});
    expect(parseLabels("empty=")).toEqual({ empty: "" });
    expect(usage(() => parseLabels("novalue"))).toContain("must be key=value");
    expect(usage(() => parseLabels("Bad=x"))).toContain("must be key=value");
    expect(usage(() => parseLabels("a=1,a=2"))).toContain("given twice");
  });
});
