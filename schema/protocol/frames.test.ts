import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { anyFrameArb } from "./_arbitraries.ts";
import type { CborKey, CborValue } from "./cbor-value.ts";
import { encodeCbor } from "./encode.ts";
import { ProtocolError } from "./errors.ts";
import { decodeFrame, encodeFrame, FRAME_TYPES } from "./frame-codec.ts";
import type { Direction, ExecFacts, Frame } from "./frames.ts";
import { newConnectionId, newHostId } from "./keys.ts";
import { MAX_CHUNK_BYTES } from "./limits.ts";

function raw(entries: [CborKey, CborValue][]): Uint8Array {
  return encodeCbor(new Map(entries));
}

function refusal(payload: Uint8Array, direction: Direction): ProtocolError {
  try {
    decodeFrame(payload, direction);
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error("expected the frame to be refused");
}

const execOpen: Frame = { t: "exec.open", seq: 1, sid: 1, argv: ["uname", "-a"], credit: 65536 };

describe("frames", () => {
  it("has one entry per frame type", () => {
    expect(FRAME_TYPES).toEqual([
      "challenge",
      "hello",
      "ready",
      "ping",
      "pong",
      "error",
      "config",
      "report",
      "workloads",
      "workload.status",
      "logs.open",
      "exec.open",
      "pty.open",
      "resize",
      "console.open",
      "console.opened",
      "stdin",
      "stdout",
      "stderr",
      "exit",
      "signal",
      "credit",
      "tcp.open",
      "tcp.opened",
      "data",
      "fin",
      "close",
      "job",
      "job.cancel",
      "job.result",
    ]);
  });

  it("round-trips every valid frame, to the same bytes", () => {
    fc.assert(
      fc.property(anyFrameArb, ({ frame, direction }) => {
        const payload = encodeFrame(frame, direction);
        const decoded = decodeFrame(payload, direction);
        expect(decoded).toEqual(frame);
        expect(encodeFrame(decoded, direction)).toEqual(payload);
      }),
      { numRuns: 5000 },
    );
  });

  it("decodes a hello with its facts", () => {
    const hello: Frame = {
      t: "hello",
      seq: 1,
      host: newHostId(),
      nonce: new Uint8Array(32),
      version: "0.1.0",
      cap: 1,
      facts: {
        hostname: "web01",
        os: "linux",
        kernel: "6.8.0",
        arch: "x64",
        cpus: 8,
        memory: 16e9,
        disk: 500e9,
        uptime: 3600,
        runtime: "bun",
        runtimeVersion: "1.4.5",
      },
    };
    expect(decodeFrame(encodeFrame(hello, "agent>cp"), "agent>cp")).toEqual(hello);
  });

  it("refuses unknown frame types and frames sent the wrong way", () => {
    const unknown = refusal(
      raw([
        ["t", "exec.spawn"],
        ["seq", 1],
      ]),
      "cp>agent",
    );
    expect(unknown.code).toBe("unknown_frame");
    expect(unknown.message).toBe('Cannot decode frame: unknown frame type "exec.spawn"');
    const reflected = refusal(encodeFrame(execOpen, "cp>agent"), "agent>cp");
    expect(reflected.code).toBe("unknown_frame");
    expect(reflected.message).toBe("Cannot decode frame: exec.open may not be sent agent>cp");
    // Names inherited from Object.prototype are not frame types.
    expect(
      refusal(
        raw([
          ["t", "constructor"],
          ["seq", 1],
        ]),
        "cp>agent",
      ).code,
    ).toBe("unknown_frame");
    expect(
      refusal(
        raw([
          ["t", "__proto__"],
          ["seq", 1],
        ]),
        "cp>agent",
      ).code,
    ).toBe("unknown_frame");
  });

  it("refuses frames of the wrong shape", () => {
    const cases: [[CborKey, CborValue][], string][] = [
      [[["seq", 1]], 'a frame must have a text field "t"'],
      [
        [
          ["t", "fin"],
          ["sid", 1],
        ],
        "fin missing field seq",
      ],
      [
        [
          ["t", "fin"],
          ["seq", 0],
          ["sid", 1],
        ],
        "fin field seq must be an integer in 1..9007199254740991, got integer 0",
      ],
      [
        [
          ["t", "fin"],
          ["seq", 1],
        ],
        "fin missing field sid",
      ],
      [
        [
          ["t", "fin"],
          ["seq", 1],
          ["sid", 1],
          ["x", 1],
        ],
        'fin unknown field "x"',
      ],
      [
        [
          ["t", "fin"],
          ["seq", 1],
          ["sid", 1],
          ["__proto__", 1],
        ],
        'fin unknown field "__proto__"',
      ],
      [
        [
          ["t", "fin"],
          ["seq", 1],
          ["sid", 1],
          [7, 1],
        ],
        "fin unknown field 7",
      ],
      [
        [
          ["t", "fin"],
          ["seq", 1],
          ["sid", "1"],
        ],
        "fin field sid must be an integer in 1..4294967295, got text of 1 characters",
      ],
      [
        [
          ["t", "exec.open"],
          ["seq", 1],
          ["sid", 1],
          ["argv", []],
          ["credit", 0],
        ],
        "exec.open field argv must be an array of 1..4096 items, got array",
      ],
      [
        [
          ["t", "exec.open"],
          ["seq", 1],
          ["sid", 1],
          ["argv", ["ls", 5]],
          ["credit", 0],
        ],
        "exec.open field argv[1] must be text of 0..131072 characters, got integer 5",
      ],
      [
        [
          ["t", "exec.open"],
          ["seq", 1],
          ["sid", 1],
          ["argv", ["ls\0x"]],
          ["credit", 0],
        ],
        "exec.open field argv[0] must not contain U+0000",
      ],
      [
        [
          ["t", "exec.open"],
          ["seq", 1],
          ["sid", 2],
          ["argv", ["ls"]],
          ["credit", 0],
        ],
        "exec.open field sid must be odd (opened by the control plane), got 2",
      ],
      [
        [
          ["t", "exec.open"],
          ["seq", 1],
          ["sid", 1],
          ["argv", ["ls"]],
          ["credit", 0],
          ["env", new Map([["A=B", "c"]])],
        ],
        'exec.open field env key must be a variable name without = or U+0000, got "A=B"',
      ],
      [
        [
          ["t", "exec.open"],
          ["seq", 1],
          ["sid", 1],
          ["argv", ["ls"]],
          ["credit", 0],
          ["timeout", 2 ** 31],
        ],
        "exec.open field timeout must be an integer in 1..2147483647, got integer 2147483648",
      ],
      [
        [
          ["t", "stdin"],
          ["seq", 1],
          ["sid", 1],
          ["data", new Uint8Array(MAX_CHUNK_BYTES + 1)],
        ],
        "stdin field data must be 0..262144 bytes, got 262145 bytes",
      ],
      [
        [
          ["t", "signal"],
          ["seq", 1],
          ["sid", 1],
          ["name", "TERM"],
        ],
        'signal field name must be a signal name like SIGTERM, got "TERM"',
      ],
      [
        [
          ["t", "challenge"],
          ["seq", 1],
          ["nonce", new Uint8Array(31)],
          ["time", 0],
          ["conn", newConnectionId()],
          ["kid", new Uint8Array(16)],
          ["cap", 1],
        ],
        "challenge field nonce must be 32 bytes, got 31 bytes",
      ],
      [
        [
          ["t", "challenge"],
          ["seq", 1],
          ["nonce", new Uint8Array(32)],
          ["time", 0],
          ["conn", "conn_x"],
          ["kid", new Uint8Array(16)],
          ["cap", 1],
        ],
        'challenge field conn must be a connection id (conn_…), got "conn_x"',
      ],
      [
        [
          ["t", "config"],
          ["seq", 1],
          ["config", []],
        ],
        "config field config must be a map, got array",
      ],
    ];
    for (const [entries, why] of cases) {
      const error = refusal(raw(entries), "cp>agent");
      expect(error.code).toBe("malformed");
      expect(error.message).toBe(`Cannot decode frame: ${why}`);
    }
    const exit = refusal(
      raw([
        ["t", "exit"],
        ["seq", 1],
        ["sid", 1],
        ["code", 256],
      ]),
      "agent>cp",
    );
    expect(exit.message).toBe(
      "Cannot decode frame: exit field code must be an integer in 0..255, got integer 256",
    );
    const facts = refusal(
      raw([
        ["t", "hello"],
        ["seq", 1],
        ["host", newHostId()],
        ["nonce", new Uint8Array(32)],
        ["version", "1"],
        ["cap", 1],
        ["facts", new Map([["hostname", "h"]])],
      ]),
      "agent>cp",
    );
    expect(facts.message).toBe("Cannot decode frame: hello missing field facts.os");
    const tcp = refusal(
      raw([
        ["t", "tcp.open"],
        ["seq", 1],
        ["sid", 3],
        ["target", "SSH"],
        ["credit", 0],
      ]),
      "agent>cp",
    );
    expect(tcp.message).toMatch(/tcp.open field target must be a port or a service name/);
  });

  it("refuses a malformed config whole, saying what is wrong", () => {
    const entry = (o: Record<string, CborValue>) => new Map<CborKey, CborValue>(Object.entries(o));
    const service = (name: CborValue, target: CborValue = "127.0.0.1:22") => entry({ name, target });
    const listener = (route: string, listen: string, to = "db01.prod:postgres") =>
      entry({ route, listen, to });
    const config = (o: Record<string, CborValue>) =>
      raw([
        ["t", "config"],
        ["seq", 1],
        ["config", entry(o)],
      ]);
    const loopback = "a loopback address and port like 127.0.0.1:15432 or [::1]:15432";
    const cases: Array<[Uint8Array, string]> = [
      [config({ services: [] }), "config missing field config.listeners"],
      [config({ services: [], listeners: [], routes: [] }), 'config unknown field config."routes"'],
      [
        config({ services: "ssh", listeners: [] }),
        "config field config.services must be an array of 0..1024 items, got text of 3 characters",
      ],
      [
        config({ services: Array.from({ length: 1025 }, (_, i) => service(`s${i}`)), listeners: [] }),
        "config field config.services must be an array of 0..1024 items, got array",
      ],
      [
        config({ services: [service("Bad Name")], listeners: [] }),
        'config field config.services[0].name must be a service name like ssh, got "Bad Name"',
      ],
      [
        config({ services: [service("web", "a".repeat(262))], listeners: [] }),
        "config field config.services[0].target must be text of 1..261 characters, got text of 262 characters",
      ],
      [
        config({ services: [service("db"), service("db", "127.0.0.1:5432")], listeners: [] }),
        'config field config.services[1].name repeats an earlier item\'s, "db"',
      ],
      [
        config({ services: [], listeners: [listener("mesh_a", "0.0.0.0:15432")] }),
        `config field config.listeners[0].listen must be ${loopback}, got "0.0.0.0:15432"`,
      ],
      [
        config({ services: [], listeners: [listener("mesh_a", "[::ffff:127.0.0.1]:15432")] }),
        `config field config.listeners[0].listen must be ${loopback}, got "[::ffff:127.0.0.1]:15432"`,
      ],
      [
        config({
          services: [],
          listeners: [listener("mesh_a", "127.0.0.1:1"), listener("mesh_a", "127.0.0.1:2")],
        }),
        'config field config.listeners[1].route repeats an earlier item\'s, "mesh_a"',
      ],
      [
        config({
          services: [],
          listeners: [listener("mesh_a", "127.0.0.1:1"), listener("mesh_b", "127.0.0.1:1")],
        }),
        'config field config.listeners[1].listen repeats an earlier item\'s, "127.0.0.1:1"',
      ],
      [
        config({ services: [], listeners: [listener("mesh_a", "127.0.0.1:1", "x\ny")] }),
        'config field config.listeners[0].to must be printable ASCII like db01.prod:postgres, got "x\\ny"',
      ],
    ];
    for (const [payload, why] of cases) {
      const error = refusal(payload, "cp>agent");
      expect(error.code).toBe("malformed");
      expect(error.message).toBe(`Cannot decode frame: ${why}`);
    }
    // Nor can a control plane send one.
    expect(() =>
      encodeFrame(
        {
          t: "config",
          seq: 1,
          config: { services: [], listeners: [{ route: "mesh_a", listen: "10.0.0.1:80", to: "x" }] },
        },
        "cp>agent",
      ),
    ).toThrow(
      new TypeError(
        `Cannot encode frame: config field config.listeners[0].listen must be ${loopback}, got "10.0.0.1:80"`,
      ),
    );
  });

  it("keeps env keys like __proto__ as plain keys", () => {
    const payload = raw([
      ["t", "exec.open"],
      ["seq", 1],
      ["sid", 1],
      ["argv", ["env"]],
      ["credit", 0],
      ["env", new Map([["__proto__", "x"]])],
    ]);
    const frame = decodeFrame(payload, "cp>agent");
    expect(frame.t === "exec.open" && Object.hasOwn(frame.env!, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(frame.t === "exec.open" ? frame.env : null)).toBe(Object.prototype);
    expect(encodeFrame(frame, "cp>agent")).toEqual(payload);
  });

  it("refuses to encode what the peer would refuse, with TypeError", () => {
    expect(() => encodeFrame(execOpen, "agent>cp")).toThrow(
      new TypeError("Cannot encode frame: exec.open may not be sent agent>cp"),
    );
    expect(() => encodeFrame({ ...execOpen, argv: [] }, "cp>agent")).toThrow(TypeError);
    expect(() => encodeFrame({ ...execOpen, seq: 0 }, "cp>agent")).toThrow(/field seq must be/);
    expect(() => encodeFrame({ t: "nope", seq: 1 } as unknown as Frame, "cp>agent")).toThrow(
      'Cannot encode frame: unknown frame type "nope"',
    );
    expect(() => encodeFrame({ t: "ping", seq: 1 } as unknown as Frame, "cp>agent")).toThrow(
      "Cannot encode frame: ping missing field time",
    );
  });

  describe("text a person reads (capability 4)", () => {
    const facts = {
      hostname: "web01",
      os: "linux",
      arch: "x64",
      cpus: 2,
      memory: 1024,
      runtime: "bun",
      runtimeVersion: "1.4.5",
    };
    const hello = (f: Record<string, CborValue>) =>
      raw([
        ["t", "hello"],
        ["seq", 1],
        ["host", newHostId()],
        ["nonce", new Uint8Array(32)],
        ["version", "0.1.0"],
        ["cap", 4],
        ["facts", new Map(Object.entries(f))],
      ]);

    it("refuses control characters in facts, error messages and close reasons, naming the field", () => {
      const osc52 = "\u001b]52;c;ZWNobyBoaQ==\u0007";
      for (const [field, value] of [
        ["hostname", `web${osc52}`],
        ["os", "linux\n"],
        ["kernel", "6.8\u009b2J"],
        ["arch", "x64\u007f"],
        ["runtime", "bun\u202e"],
        ["runtimeVersion", "1.4.5\u2066"],
      ] as const) {
        const error = refusal(hello({ ...facts, [field]: value }), "agent>cp");
        expect(error.code).toBe("malformed");
        expect(error.message).toContain(
          `hello field facts.${field} must not contain control characters, got U+`,
        );
      }
      expect(refusal(hello({ ...facts, hostname: `web${osc52}` }), "agent>cp").message).toBe(
        "Cannot decode frame: hello field facts.hostname must not contain control characters, got U+001B at 3",
      );
      const allow = new Map<CborKey, CborValue>([
        ["mode", "allowlist"],
        ["allow", [["ls", "\u001b[2J"]]],
      ]);
      expect(refusal(hello({ ...facts, exec: allow }), "agent>cp").message).toContain(
        "facts.exec.allow[0][1] must not contain control characters",
      );
      const error = raw([
        ["t", "error"],
        ["seq", 1],
        ["code", "x"],
        ["message", "a\u001b]0;title\u0007"],
      ]);
      expect(refusal(error, "agent>cp").message).toContain("error field message must not contain control");
      const close = raw([
        ["t", "close"],
        ["seq", 1],
        ["sid", 2],
        ["reason", "x\r\nforged"],
      ]);
      expect(refusal(close, "agent>cp").message).toContain("close field reason must not contain control");
      // Printable text of any script is kept, as before.
      const fine = { ...facts, hostname: "wëb-01 (Größe) 東京" };
      expect(decodeFrame(hello(fine), "agent>cp")).toMatchObject({ facts: fine });
    });

    it("sends a sender's own control characters as U+FFFD rather than failing", () => {
      const payload = encodeFrame(
        { t: "close", seq: 1, sid: 2, reason: "refused:\n\u001b[31mno" },
        "agent>cp",
      );
      expect(decodeFrame(payload, "agent>cp")).toMatchObject({ reason: "refused:\ufffd\ufffd[31mno" });
    });

    it("carries the exec policy in facts, and accepts facts without it from older agents", () => {
      const policies: ExecFacts[] = [
        { mode: "any" },
        { mode: "off" },
        { mode: "allowlist", allow: [["systemctl", "status"], ["/usr/bin/uptime"]] },
      ];
      for (const exec of policies) {
        const frame: Frame = {
          t: "hello",
          seq: 1,
          host: newHostId(),
          nonce: new Uint8Array(32),
          version: "0.1.0",
          cap: 4,
          facts: { ...facts, exec },
        };
        expect(decodeFrame(encodeFrame(frame, "agent>cp"), "agent>cp")).toEqual(frame);
      }
      expect(decodeFrame(hello(facts), "agent>cp")).toMatchObject({ facts });
      const bad = new Map<CborKey, CborValue>([["mode", "some"]]);
      expect(refusal(hello({ ...facts, exec: bad }), "agent>cp").message).toContain(
        "field facts.exec.mode must be one of any, off, allowlist",
      );
    });
  });
});
