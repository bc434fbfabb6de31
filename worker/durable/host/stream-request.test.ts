// The stream-request codec: what the Worker encodes is exactly what the HostDO decodes, a caller's
// headers cannot ride along, and anything the Worker did not build is refused before any stream opens.
import { describe, expect, it } from "vitest";
import { newId } from "../../../schema/ids.ts";
import { newHostId } from "../../../schema/protocol/keys.ts";
import { ApiError } from "../../http/api-error.ts";
import { decodeStreamRequest, encodeStreamRequest, type StreamRequest } from "./stream-request.ts";

const opener = { tenantId: newId("tenant"), actor: "key:key_x", hostName: "web01" };
const refusal = (request: Request) => {
  try {
    decodeStreamRequest(request);
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, code: err.code, message: err.message };
  }
  throw new Error("decoded what it should have refused");
};

describe("stream-request codec", () => {
  it("round-trips every kind", () => {
    const all: StreamRequest[] = [
      { kind: "agent", hostId: newHostId() },
      { ...opener, kind: "exec", spec: { argv: ["echo", "héllo ✓"], env: { A: "1" }, credit: 4096 } },
      { ...opener, kind: "tcp", target: "ssh", credit: 1 << 20 },
      { ...opener, kind: "tcp", target: "22" },
    ];
    for (const req of all) expect(decodeStreamRequest(encodeStreamRequest(req))).toEqual(req);
  });

  it("builds its headers from scratch: only the upgrade and the checked values", () => {
    const request = encodeStreamRequest({ ...opener, kind: "tcp", target: "ssh" });
    expect([...request.headers.keys()].sort()).toEqual(["upgrade", "x-outpost-stream-request"]);
  });

  it("refuses what the Worker did not build", () => {
    const good = encodeStreamRequest({ ...opener, kind: "tcp", target: "ssh" });
    const header = good.headers.get("x-outpost-stream-request")!;
    const forged = (value: unknown, path = "/tcp") =>
      new Request(`https://host.internal${path}`, {
        headers: {
          upgrade: "websocket",
          "x-outpost-stream-request": encodeURIComponent(JSON.stringify(value)),
        },
      });
    expect(
      refusal(new Request("https://host.internal/tcp", { headers: { "x-outpost-stream-request": header } })),
    ).toMatchObject({ status: 426, code: "upgrade_required" });
    expect(
      refusal(new Request("https://host.internal/tcp", { headers: { upgrade: "websocket" } })),
    ).toMatchObject({ status: 400, code: "bad_stream_request" });
    // The old per-field headers mean nothing any more.
    expect(
      refusal(
        new Request("https://host.internal/tcp", {
          headers: { upgrade: "websocket", "x-outpost-target": "ssh", "x-outpost-credit": "999999999" },
        }),
      ),
    ).toMatchObject({ status: 400 });
    expect(refusal(forged({ ...opener, kind: "tcp", target: "no such/target" }))).toMatchObject({
      status: 400,
    });
    expect(refusal(forged({ ...opener, kind: "tcp", target: "ssh", credit: -1 }))).toMatchObject({
      status: 400,
    });
    expect(refusal(forged({ ...opener, kind: "exec", spec: { argv: [] } }, "/exec"))).toMatchObject({
      status: 400,
    });
    expect(refusal(forged({ kind: "agent", hostId: "cl_notahost" }, "/agent"))).toMatchObject({
      status: 400,
    });
    expect(refusal(forged({ ...opener, kind: "tcp", target: "ssh" }, "/exec")).message).toMatch(
      /path and kind/,
    );
  });
});
