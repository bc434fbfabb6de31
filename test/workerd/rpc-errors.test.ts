// An ApiError raised inside a Durable Object reaches the Worker with its status and code, as the same
// ApiError class, when the method returns an RpcResult; thrown across RPC instead, the platform keeps
// its message only (the reason rpc-result.ts exists: if this ever changes, the last test says so).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { unwrap } from "../../worker/durable/rpc-result.ts";
import { ApiError } from "../../worker/http/api-error.ts";

const stub = (name: string) => env.RPC_ERRORS.get(env.RPC_ERRORS.idFromName(name));

describe("ApiError across Durable Object RPC", () => {
  it("comes back as the same ApiError, status and code included", async () => {
    const err = await Promise.resolve()
      .then(async () => unwrap(await stub("refuse").refuse(404, "not_found", "mesh route 'x' not found")))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, code: "not_found", message: "mesh route 'x' not found" });
    expect((err as ApiError).toResponse().status).toBe(404);
  });

  it("passes values through, and lets other errors throw as errors", async () => {
    expect(unwrap(await stub("answer").answer("pong"))).toBe("pong");
    const err = await stub("plain")
      .failPlainly("not an ApiError")
      .catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ApiError);
    expect((err as Error).message).toContain("not an ApiError");
  });

  it("loses status and code when thrown across RPC instead", async () => {
    const err = await stub("thrown")
      .throwAcross()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(ApiError);
    expect((err as { status?: unknown }).status).toBeUndefined();
    expect((err as Error).message).toContain("thrown across RPC");
  });
});
