// How the proxy frames a caller's body for the service: never by the caller's Content-Length when
// Transfer-Encoding also came, and never with a coding it would drop silently.
import { describe, expect, it } from "vitest";
import { ApiError } from "../http/api-error.ts";
import { requestFraming } from "./request-framing.ts";

const req = (method: string, headers: Record<string, string>, body?: string) =>
  new Request("http://x.test/", { method, headers, ...(body === undefined ? {} : { body }) });

function refusal(request: Request): { status: number; code: string; message: string } {
  try {
    requestFraming(request);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    return { status: e.status, code: e.code, message: e.message };
  }
  throw new Error("expected a refusal");
}

describe("requestFraming", () => {
  it("sends the length the body has, chunked when it has none, nothing without a body", () => {
    expect(requestFraming(req("POST", { "content-length": "5" }, "hello"))).toEqual({
      kind: "length",
      length: 5,
    });
    expect(requestFraming(req("POST", { "transfer-encoding": "Chunked" }, "hello"))).toEqual({
      kind: "chunked",
    });
    expect(requestFraming(req("POST", {}))).toBeNull();
    expect(requestFraming(req("GET", { "content-length": "0" }))).toBeNull();
  });

  it("refuses Content-Length with Transfer-Encoding (RFC 9112 §6.1), on any method", () => {
    for (const method of ["POST", "GET"]) {
      const r = refusal(req(method, { "content-length": "5", "transfer-encoding": "chunked" }));
      expect(r).toMatchObject({ status: 400, code: "ambiguous_framing" });
      expect(r.message).toMatch(/both Content-Length and Transfer-Encoding.*send only one of them/);
    }
  });

  it.each(["gzip, chunked", "chunked, chunked", "identity", ""])(
    "refuses the transfer coding %j with 501",
    (te) => {
      const r = refusal(req("POST", { "transfer-encoding": te }, "x"));
      expect(r).toMatchObject({ status: 501, code: "unsupported_transfer_coding" });
      expect(r.message).toMatch(/is not supported; send the body with Content-Length or/);
    },
  );

  it.each(["5, 6", "-1", "0x5", "5 5", "99999999999999999999"])("refuses Content-Length %j", (cl) => {
    const r = refusal(req("POST", { "content-length": cl }, "hello"));
    expect(r).toMatchObject({ status: 400, code: "bad_content_length" });
  });

  it("reads repeats of one Content-Length as one (RFC 9110 §8.6)", () => {
    expect(requestFraming(req("POST", { "content-length": "5, 5" }, "hello"))).toEqual({
      kind: "length",
      length: 5,
    });
  });
});
