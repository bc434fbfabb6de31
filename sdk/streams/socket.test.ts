import { describe, expect, it } from "vitest";
import { _maskingPointless } from "./socket.ts";

describe("client frame masking", () => {
  it("is skipped over TLS and on loopback, where no intermediary reads the frames", () => {
    for (const url of [
      "wss://outpost.example.com/v1/hosts/web01.prod/tcp",
      "wss://10.0.0.5/v1/x",
      "ws://127.0.0.1:8787/v1/x",
      "ws://127.10.0.3:8787/v1/x",
      "ws://localhost:8787/v1/x",
      "ws://[::1]:8787/v1/x",
    ]) {
      expect(_maskingPointless(new URL(url)), url).toBe(true);
    }
  });

  it("is kept on plain ws:// to anywhere else, where a proxy on the way might read them", () => {
    for (const url of [
      "ws://outpost.example.com/v1/x",
      "ws://10.0.0.5:8787/v1/x",
      "ws://localhost.example.com/v1/x",
      "ws://127.0.0.1.nip.io/v1/x",
      "ws://[::ffff:127.0.0.1]/v1/x",
      "ws://128.0.0.1/v1/x",
    ]) {
      expect(_maskingPointless(new URL(url)), url).toBe(false);
    }
  });
});
