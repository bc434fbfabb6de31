// The client ↔ control plane stream frames: every frame type round trips, bad frames are refused with
// the protocol's own error.
import { describe, expect, it } from "vitest";
import {
  type ClientToServer,
  decodeClientFrame,
  decodeServerFrame,
  encodeStreamFrame,
  type ServerToClient,
} from "./client-frames.ts";
import { encodeCbor } from "./encode.ts";
import { ProtocolError } from "./errors.ts";
import { decodeExecSpec, encodeExecSpec } from "./exec-spec.ts";

const bytes = new Uint8Array([1, 2, 3]);

describe("stream frames", () => {
  it.each<ClientToServer>([
    { t: "stdin", data: bytes },
    { t: "stdin", data: bytes, eof: true },
    { t: "signal", name: "SIGINT" },
    { t: "credit", bytes: 65536 },
    { t: "data", data: bytes },
    { t: "fin" },
  ])("client frame %o round trips", (frame) => {
    expect(decodeClientFrame(encodeStreamFrame(frame))).toEqual(frame);
  });

  it.each<ServerToClient>([
    { t: "started", session: "ses_x" },
    { t: "stdout", data: bytes },
    { t: "stderr", data: bytes },
    { t: "credit", bytes: 1 },
    { t: "exit", code: 3 },
    { t: "exit", code: null, signal: "SIGKILL" },
    { t: "opened", credit: 1024 },
    { t: "data", data: bytes },
    { t: "fin" },
    { t: "error", code: "host_offline", message: "gone" },
  ])("server frame %o round trips", (frame) => {
    expect(decodeServerFrame(encodeStreamFrame(frame))).toEqual(frame);
  });

  it.each([
    new Map([["t", "nope"]]),
    new Map<string, unknown>([
      ["t", "credit"],
      ["bytes", 0],
    ]),
    new Map<string, unknown>([
      ["t", "signal"],
      ["name", "rm -rf"],
    ]),
    new Map<string, unknown>([
      ["t", "data"],
      ["data", "text"],
    ]),
    [1, 2],
  ])("refuses %o with a ProtocolError", (value) => {
    expect(() => decodeClientFrame(encodeCbor(value as never))).toThrow(ProtocolError);
  });

  it("round trips an exec spec through its query form", () => {
    const spec = { argv: ["sh", "-c", "echo ü && exit 3"], env: { A: "b" }, timeout: 5 };
    expect(decodeExecSpec(encodeExecSpec(spec))).toEqual(spec);
  });
});

describe("stream frames, strictly", () => {
  const frame = (entries: [string, unknown][]) => encodeCbor(new Map(entries) as never);

  it("refuses unknown fields and frames from the wrong side", () => {
    expect(() =>
      decodeClientFrame(
        frame([
          ["t", "fin"],
          ["extra", 1],
        ]),
      ),
    ).toThrow('fin unknown field "extra"');
    expect(() =>
      decodeClientFrame(
        frame([
          ["t", "stdout"],
          ["data", bytes],
        ]),
      ),
    ).toThrow("stdout may not be sent by the client");
    expect(() =>
      decodeServerFrame(
        frame([
          ["t", "signal"],
          ["name", "SIGINT"],
        ]),
      ),
    ).toThrow(ProtocolError);
    expect(() =>
      decodeServerFrame(
        frame([
          ["t", "opened"],
          ["credit", 2 ** 32],
        ]),
      ),
    ).toThrow(ProtocolError);
    expect(() =>
      decodeServerFrame(
        frame([
          ["t", "exit"],
          ["code", 3],
          ["signal", "kill"],
        ]),
      ),
    ).toThrow(ProtocolError);
  });

  it("reads a false eof as no eof, and the agent frames' signal names", () => {
    expect(
      decodeClientFrame(
        frame([
          ["t", "stdin"],
          ["data", bytes],
          ["eof", false],
        ]),
      ),
    ).toEqual({
      t: "stdin",
      data: bytes,
    });
    const exit: ServerToClient = { t: "exit", code: null, signal: "SIGRTMIN+3" };
    expect(decodeServerFrame(encodeStreamFrame(exit))).toEqual(exit);
  });

  it("checks what it sends, and cuts an error message that is too long instead of refusing it", () => {
    expect(() => encodeStreamFrame({ t: "credit", bytes: 0 })).toThrow(TypeError);
    expect(() => encodeStreamFrame({ t: "nope" } as never)).toThrow(TypeError);
    const long = decodeServerFrame(encodeStreamFrame({ t: "error", code: "x", message: "é".repeat(2000) }));
    expect(long).toEqual({ t: "error", code: "x", message: "é".repeat(1024) });
  });
});
