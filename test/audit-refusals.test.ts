// Refused calls are audit events named by action (worker/http/audit-refusals.ts): a 400, a 404 and a 409
// each leave one that `outpost audit` shows, with the caller, the target as given (escaped) and the
// error code; an unauthenticated caller writes none (the throttle's sampled auth.failures stand for it),
// and another tenant sees none of them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./harness/cli.ts";
import { raw, type Stack, startStack } from "./harness/stack.ts";

interface AuditRow {
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  details: { status?: number; code?: string; message?: string };
}

let stack: Stack;
let acme: Awaited<ReturnType<Stack["tenantInProd"]>>;

beforeAll(async () => {
  stack = await startStack();
  acme = await stack.tenantInProd("acme");
}, 120_000);
afterAll(() => stack?.close());

async function cliAudit(token: string): Promise<AuditRow[]> {
  const res = await runCli(["audit", "--limit", "100", "--json"], {
    OUTPOST_URL: stack.url,
    OUTPOST_TOKEN: token,
  });
  expect(res.code, res.stderr).toBe(0);
  const parsed = JSON.parse(res.stdout) as { events?: AuditRow[]; items?: AuditRow[] };
  return (parsed.items ?? parsed.events)!;
}

const denied = (rows: AuditRow[], action: string) =>
  rows.filter((r) => r.action === action && r.outcome === "denied");

describe("refusals are audited by action", () => {
  it("a 400, a 404 and a 409 each leave an event that outpost audit shows", async () => {
    const bad = await raw(stack, "POST", "/v1/clusters", {
      token: acme.token,
      body: { name: "Not A Label" },
    });
    expect(bad.status).toBe(400);
    const dup = await raw(stack, "POST", "/v1/clusters", { token: acme.token, body: { name: "prod" } });
    expect(dup.status).toBe(409);
    const exec = await runCli(["exec", "ghost.prod", "--", "true"], {
      OUTPOST_URL: stack.url,
      OUTPOST_TOKEN: acme.token,
    });
    expect(exec.code).not.toBe(0);

    const rows = await cliAudit(acme.token);
    const creates = denied(rows, "cluster.create");
    expect(creates.map((r) => [r.target, r.details.status, r.details.code])).toEqual(
      expect.arrayContaining([
        ["Not A Label", 400, "invalid_request"],
        ["prod", 409, "conflict"],
      ]),
    );
    const execs = denied(rows, "host.exec");
    expect(execs).toHaveLength(1);
    expect(execs[0]).toMatchObject({ target: "ghost.prod", details: { status: 404, code: "not_found" } });
    expect(execs[0]!.actor).toMatch(/^key:/);
    // Named by action, never by route.
    expect(rows.some((r) => /^(GET|POST|DELETE) \//.test(r.action))).toBe(false);
  });

  it("stores an attacker's target escaped and bounded", async () => {
    const hostile = `\u001b[31m${"x".repeat(500)}`;
    const res = await raw(stack, "GET", `/v1/hosts/${encodeURIComponent(hostile)}`, { token: acme.token });
    expect(res.status).toBe(400);
    const [row] = denied(await cliAudit(acme.token), "host.read");
    expect(row!.target!.startsWith("\\x1b[31mxxx")).toBe(true);
    expect(row!.target!.length).toBeLessThanOrEqual(200);
    expect(row!.target).not.toContain("\u001b");
    expect(row!.details.message).not.toContain("\u001b");
  });

  it("a caller without a valid key writes no refusal events, and another tenant sees none", async () => {
    const before = (await cliAudit(acme.token)).length;
    for (let i = 0; i < 5; i++) {
      const res = await raw(stack, "POST", "/v1/clusters", { body: { name: "prod" } });
      expect(res.status).toBe(401);
    }
    const after = await cliAudit(acme.token);
    expect(after.length).toBe(before);

    const other = await stack.tenant("globex");
    const theirs = await raw(stack, "GET", "/v1/clusters/prod", { token: other.token });
    expect(theirs.status).toBe(404);
    const rows = await cliAudit(other.token);
    expect(rows.filter((r) => r.action === "cluster.create")).toEqual([]);
    expect(denied(rows, "cluster.read").map((r) => r.target)).toEqual(["prod"]);
  });
});
