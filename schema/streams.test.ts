// The client ↔ control plane stream frames: every frame type round trips, bad frames are refused with
// the protocol's own error.
import { describe, expect, it } from "vitest";
import { encodeCbor } from "./protocol/encode.ts";
import { ProtocolError } from "./protocol/errors.ts";
import {
  type ClientToServer,
  decodeClientFrame,
  decodeExecSpec,
  decodeServerFrame,
  encodeExecSpec,
  encodeStreamFrame,
  type ServerToClient,
} from "./streams.ts";

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
