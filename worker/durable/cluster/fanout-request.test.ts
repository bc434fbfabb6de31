// The fan-out request codec: a small plan rides in the Worker's request and comes back exactly, a big
// one is left to storage, and a header the Worker did not build (garbled, another shape, a bad id)
// is refused naming what failed, before anything is recorded or run.
import { describe, expect, it } from "vitest";
import { newId } from "../../../schema/ids.ts";
import { newHostId } from "../../../schema/protocol/keys.ts";
import { ApiError } from "../../http/api-error.ts";
import type { FanoutPlan } from "./fanout.ts";
import {
  decodeFanoutRequest,
  INLINE_PLAN_CHARS,
  inlineFanoutRequest,
  PLAN_HEADER,
  storedFanoutRequest,
} from "./fanout-request.ts";

const plan = (hosts: number): FanoutPlan => ({
  tenantId: newId("tenant"),
  actor: "key:key_x",
  spec: { argv: ["true"] },
  maxParallel: 32,
  hosts: Array.from({ length: hosts }, (_, i) => ({ id: newHostId(), fqdn: `web${i}.prod`, online: i > 0 })),
  audit: { target: newId("cluster"), details: { cluster: "prod", selector: "", hosts } },
});

const refusal = (request: Request) => {
  try {
    decodeFanoutRequest(request);
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, code: err.code, message: err.message };
  }
  throw new Error("decoded what it should have refused");
};
const withHeader = (value: string, path = "/fanout") =>
  new Request(`https://cluster.internal${path}`, { headers: { upgrade: "websocket", [PLAN_HEADER]: value } });

describe("fan-out request codec", () => {
  it("carries a small plan whole, and leaves a big one to storage", () => {
    const small = plan(3);
    const req = inlineFanoutRequest(small);
    expect(req).not.toBeNull();
    expect(decodeFanoutRequest(req!)).toEqual({ plan: small });
    const big = plan(400);
    expect(encodeURIComponent(JSON.stringify(big)).length).toBeGreaterThan(INLINE_PLAN_CHARS);
    expect(inlineFanoutRequest(big)).toBeNull();
    expect(decodeFanoutRequest(storedFanoutRequest("fan_abc123"))).toEqual({ id: "fan_abc123" });
  });

  it("refuses a header the Worker did not build, naming what failed", () => {
    expect(refusal(withHeader("%%%"))).toMatchObject({ status: 400, code: "bad_fanout" });
    expect(refusal(withHeader("%%%")).message).toMatch(/x-outpost-fanout-plan is missing or not JSON/);
    const bad = { ...plan(1), tenantId: "tenant of someone else" };
    expect(refusal(withHeader(encodeURIComponent(JSON.stringify(bad)))).message).toMatch(
      /^Cannot run the fan-out: tenantId: must be a tenant id/,
    );
    const badHost = { ...plan(1), hosts: [{ id: "../../etc", fqdn: "x", online: true }] };
    expect(refusal(withHeader(encodeURIComponent(JSON.stringify(badHost)))).message).toMatch(
      /hosts\.0\.id: must be a host id/,
    );
    const noHosts = { ...plan(1), hosts: [] };
    expect(refusal(withHeader(encodeURIComponent(JSON.stringify(noHosts)))).status).toBe(400);
    expect(refusal(new Request("https://cluster.internal/fanout")).code).toBe("bad_request");
    expect(refusal(withHeader("{}", "/other")).code).toBe("bad_request");
  });
});
