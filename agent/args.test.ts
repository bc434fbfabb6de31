import { describe, expect, it } from "vitest";
import { parseControlPlaneUrl, parseFlags, parseLabels, parseName } from "./args.ts";
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
