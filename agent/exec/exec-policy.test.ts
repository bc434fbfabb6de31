// How --no-exec and --exec-allow are read and matched (agent/exec-policy.ts); end to end with real
// agents in test/exec-policy.test.ts.
import { describe, expect, it } from "vitest";
import { AgentError } from "../errors.ts";
import { execFacts, execRefusal, parseExecPolicy } from "./exec-policy.ts";

function usage(noExec: boolean, allow: string[]): string {
  try {
    parseExecPolicy(noExec, allow);
  } catch (error) {
    expect(error).toBeInstanceOf(AgentError);
    expect((error as AgentError).exitCode).toBe(2);
    return (error as AgentError).message;
  }
  throw new Error(`expected ${JSON.stringify(allow)} to be refused`);
}

describe("parseExecPolicy", () => {
  it("reads words and JSON arrays", () => {
    expect(parseExecPolicy(false, [])).toEqual({ mode: "any" });
    expect(parseExecPolicy(true, [])).toEqual({ mode: "off" });
    expect(parseExecPolicy(false, ["systemctl status", "/usr/bin/uptime", '["printf","%s", "a b"]'])).toEqual(
      {
        mode: "allowlist",
        allow: [["systemctl", "status"], ["/usr/bin/uptime"], ["printf", "%s", "a b"]],
      },
    );
  });

  it("refuses what could be read two ways, and relative programs", () => {
    expect(usage(true, ["ls"])).toMatch(/--no-exec and --exec-allow exclude each other/);
    for (const ambiguous of [
      "systemctl  status",
      " ls",
      "ls ",
      "sh -c 'echo hi'",
      'echo "a b"',
      "a\\ b",
      "ls\t-l",
    ]) {
      expect(usage(false, [ambiguous])).toMatch(/words separated by single spaces, without quotes/);
    }
    expect(usage(false, ["./deploy.sh"])).toMatch(/a bare name \(found on PATH\) or an absolute path/);
    expect(usage(false, ["bin/deploy"])).toMatch(/or an absolute path, not 'bin\/deploy'/);
    expect(usage(false, ["[1]"])).toMatch(/non-empty JSON array of strings/);
    expect(usage(false, ["[]"])).toMatch(/non-empty JSON array of strings/);
    expect(usage(false, ["[nope"])).toMatch(/not a JSON array of strings/);
    expect(usage(false, ['["ls",""]'])).toMatch(/each item must be 1\.\.256 characters without control/);
    expect(usage(false, ['["ls","\\u001b[2J"]'])).toMatch(/without control characters/);
    expect(usage(false, ['["printf","%s\\n"]'])).toMatch(/without control characters/);
    expect(
      usage(
        false,
        Array.from({ length: 65 }, () => "ls"),
      ),
    ).toMatch(/at most 64 prefixes/);
  });
});

describe("execRefusal", () => {
  const policy = parseExecPolicy(false, ["systemctl status", "/usr/bin/uptime"]);

  it("matches whole items, the program exactly, with more arguments allowed", () => {
    expect(execRefusal(policy, { argv: ["systemctl", "status"] })).toBeUndefined();
    expect(execRefusal(policy, { argv: ["systemctl", "status", "sshd", "--no-pager"] })).toBeUndefined();
    expect(execRefusal(policy, { argv: ["/usr/bin/uptime", "-p"] })).toBeUndefined();
    for (const argv of [
      ["systemctl"],
      ["systemctl2", "status"],
      ["systemctl", "statusx"],
      ["systemctl", "restart", "status"],
      ["/usr/bin/systemctl", "status"],
      ["uptime"],
      ["/usr/bin/uptime/../../bin/sh"],
    ]) {
      expect(execRefusal(policy, { argv })).toMatch(/^exec refused: .* is not in this host's exec allowlist/);
    }
    expect(execRefusal(policy, { argv: ["systemctl", "status"], env: { PAGER: "sh" } })).toMatch(
      /may not set environment variables/,
    );
  });

  it("quotes what the control plane sent, so the reason stays one printable line", () => {
    const reason = execRefusal(policy, { argv: ["\u001b]52;c;x\u0007", "a\nb"] })!;
    expect(reason).toMatch(/^exec refused: '\\u001b]52;c;x\\u0007' 'a\\u000ab' is not/);
    expect(reason).toMatch(/^[\x20-\x7e]+$/);
  });

  it("lets everything through by default and nothing with --no-exec", () => {
    expect(execRefusal({ mode: "any" }, { argv: ["sh"], env: { A: "1" } })).toBeUndefined();
    expect(execRefusal({ mode: "off" }, { argv: ["true"] })).toBe(
      "exec refused: this host's agent runs with --no-exec; ask its owner",
    );
    expect(execFacts(policy)).toEqual({
      mode: "allowlist",
      allow: [["systemctl", "status"], ["/usr/bin/uptime"]],
    });
    expect(execFacts({ mode: "off" })).toEqual({ mode: "off" });
  });
});
