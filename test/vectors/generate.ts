// Builds the known-answer vectors in frames.json (scripts/gen-vectors.ts writes them; vectors.test.ts
// checks the file is current). Everything is fixed: seeds, connection ids, nonces, times. Ed25519 is
// deterministic (RFC 8032 §5.1.6), so the same code always gives the same bytes.

import { _concatBytes, _fromHex, _toHex } from "../../schema/protocol/_bytes.ts";
import { _macPayload, _sealPayload } from "../../schema/protocol/envelope.ts";
import {
  type CborValue,
  type ConnectionId,
  closeCodeFor,
  DataKey,
  deriveDataKeys,
  type Direction,
  decodeCbor,
  encodeCbor,
  encodeFrame,
  type Frame,
  type FrameContext,
  formatControlPlaneKey,
  formatHostKey,
  type HostId,
  keyIdBytes,
  PROTOCOL_CAPABILITY,
  PROTOCOL_MAGIC,
  ProtocolError,
  type ProtocolErrorCode,
  openFrame,
  Signer,
  sealFrame,
  Verifier,
} from "../../schema/protocol/index.ts";
import { type Json, toJson } from "./json.ts";

interface KeyVector {
  name: string;
  seedHex: string;
  publicKeyHex: string;
  publicKey: string;
  keyId: string;
}

interface ValidVector {
  name: string;
  seedHex: string;
  publicKeyHex: string;
  keyId: string;
  connectionId: string;
  direction: Direction;
  frame: Json;
  payloadHex: string;
  messageHex: string;
}

interface InvalidVector {
  name: string;
  /** The one key the opener knows (a pinned Verifier). */
  publicKeyHex: string;
  connectionId: string;
  /** The direction the opener expects. */
  direction: Direction;
  messageHex: string;
  error: ProtocolErrorCode;
  closeCode: number;
}

/** Capability 2 data keys (data-key.ts): the derivation, then COSE_Mac0 frames under the keys. */
interface DataKeyVectors {
  /** X25519 output (RFC 7748 §6.1 is covered by the runtimes' own tests); HKDF from here on. */
  sharedHex: string;
  nonceHex: string;
  connectionId: string;
  agentKxHex: string;
  cpKxHex: string;
  keys: { "agent>cp": string; "cp>agent": string };
  valid: { name: string; direction: Direction; frame: Json; payloadHex: string; messageHex: string }[];
  /** Opened with the direction's data key (unless `noKey`) and, for COSE_Sign1, the agent's public key. */
  invalid: {
    name: string;
    connectionId: string;
    direction: Direction;
    noKey?: true;
    messageHex: string;
    error: ProtocolErrorCode;
    closeCode: number;
  }[];
}

export interface VectorFile {
  description: string;
  magic: string;
  capability: number;
  keys: KeyVector[];
  valid: ValidVector[];
  invalid: InvalidVector[];
  dataKeys: DataKeyVectors;
}

const AGENT_SEED = new Uint8Array(32).fill(0x01);
const CP_SEED = new Uint8Array(32).fill(0x02);
const OTHER_SEED = new Uint8Array(32).fill(0x03);
const CONN_A = "conn_AAECAwQFBgcICQoLDA0ODw" as ConnectionId; // bytes 00 01 … 0f
const CONN_B = "conn_EBESExQVFhcYGRobHB0eHw" as ConnectionId; // bytes 10 11 … 1f
const HOST = "host_AAAAAAAAAAAAAAAAAAAAAA" as HostId;
const NONCE = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
const TIME = 1_795_000_000_000; // 2026-11-18T…, any fixed value

export async function generateVectors(): Promise<VectorFile> {
  const agent = await Signer.fromSeed(AGENT_SEED);
  const cp = await Signer.fromSeed(CP_SEED);
  const other = await Signer.fromSeed(OTHER_SEED);
  const seedOf = new Map([
    [agent, AGENT_SEED],
    [cp, CP_SEED],
  ]);
  const up = (connectionId: ConnectionId = CONN_A): FrameContext => ({ connectionId, direction: "agent>cp" });
  const down = (connectionId: ConnectionId = CONN_A): FrameContext => ({ connectionId, direction: "cp>agent" });

  const valid: ValidVector[] = [];
  const add = async (name: string, frame: Frame, ctx: FrameContext) => {
    const signer = ctx.direction === "cp>agent" ? cp : agent;
    const message = await sealFrame(frame, signer, ctx);
    valid.push({
      name,
      seedHex: _toHex(seedOf.get(signer)!),
      publicKeyHex: _toHex(signer.publicKey),
      keyId: signer.keyId,
      connectionId: ctx.connectionId,
      direction: ctx.direction,
      frame: toJson(frame),
      payloadHex: _toHex(encodeFrame(frame, ctx.direction)),
      messageHex: _toHex(message),
    });
    return message;
  };

  // ## Valid: every frame type, handshake first, on one connection.
  await add(
    "challenge",
    { t: "challenge", seq: 1, nonce: NONCE, time: TIME, conn: CONN_A, kid: cp.keyId, cap: PROTOCOL_CAPABILITY },
    down(),
  );
  await add(
    "hello",
    {
      t: "hello",
      seq: 1,
      host: HOST,
      nonce: NONCE,
      version: "0.1.0",
      cap: PROTOCOL_CAPABILITY,
      facts: {
        hostname: "web01",
        os: "linux",
        kernel: "6.8.0-45-generic",
        arch: "x64",
        cpus: 8,
        memory: 16_777_216_000,
        disk: 512_000_000_000,
        uptime: 86_400,
        runtime: "bun",
        runtimeVersion: "1.4.5",
      },
    },
    up(),
  );
  await add(
    "hello with only required facts",
    {
      t: "hello",
      seq: 1,
      host: HOST,
      nonce: NONCE,
      version: "0.1.0",
      cap: PROTOCOL_CAPABILITY,
      facts: { hostname: "db1", os: "darwin", arch: "arm64", cpus: 10, memory: 34_359_738_368, runtime: "deno", runtimeVersion: "2.9.6" },
    },
    up(CONN_B),
  );
  await add(
    "hello with an exec allowlist (cap 4)",
    {
      t: "hello",
      seq: 1,
      host: HOST,
      nonce: NONCE,
      version: "0.1.0",
      cap: PROTOCOL_CAPABILITY,
      facts: {
        hostname: "db1", os: "linux", arch: "x64", cpus: 2, memory: 1_073_741_824, runtime: "bun", runtimeVersion: "1.4.5",
        exec: { mode: "allowlist", allow: [["systemctl", "status"], ["/usr/bin/uptime"]] },
      },
    },
    up(CONN_B),
  );
  await add(
    "hello with vm drivers (cap 9)",
    {
      t: "hello",
      seq: 1,
      host: HOST,
      nonce: NONCE,
      version: "0.1.0",
      cap: PROTOCOL_CAPABILITY,
      facts: {
        hostname: "db1", os: "linux", arch: "x64", cpus: 2, memory: 1_073_741_824, runtime: "bun", runtimeVersion: "1.4.5",
        drivers: [
          { name: "qemu", available: true, accel: "tcg", version: "7.2.15" },
          { name: "firecracker", available: false, reason: "firecracker is not on PATH" },
        ],
      },
    },
    up(CONN_B),
  );
  await add("ready", { t: "ready", seq: 2, heartbeat: 15_000 }, down());
  await add("hello with kx", { t: "hello", seq: 1, host: HOST, nonce: NONCE, version: "0.1.0", cap: PROTOCOL_CAPABILITY, facts: { hostname: "db1", os: "linux", arch: "x64", cpus: 2, memory: 1_073_741_824, runtime: "bun", runtimeVersion: "1.4.5" }, kx: AGENT_KX }, up(CONN_B));
  await add("ready with kx", { t: "ready", seq: 2, heartbeat: 15_000, kx: CP_KX }, down(CONN_B));
  await add("ping cp>agent", { t: "ping", seq: 3, time: TIME + 15_000 }, down());
  await add("pong agent>cp", { t: "pong", seq: 2, time: TIME + 15_000 }, up());
  await add("ping agent>cp", { t: "ping", seq: 3, time: TIME + 15_001 }, up());
  await add("pong cp>agent", { t: "pong", seq: 4, time: TIME + 15_001 }, down());
  await add(
    "config",
    {
      t: "config",
      seq: 5,
      config: {
        services: [{ name: "ssh", target: "127.0.0.1:22" }],
        listeners: [{ route: "mesh_0123456789abcdef", listen: "127.0.0.1:15432", to: "db01.prod:postgres" }],
      },
    },
    down(),
  );
  await add(
    "report",
    {
      t: "report",
      seq: 4,
      report: {
        services: [
          { name: "ssh", source: "agent", target: "127.0.0.1:22", wins: true, allowed: true },
          { name: "ssh", source: "cp", target: "127.0.0.1:2222", wins: false, allowed: false, reason: "overridden by this host's own service" },
        ],
        listeners: [
          { route: "mesh_0123456789abcdef", listen: "127.0.0.1:15432", state: "failed", error: "cannot listen: address already in use" },
        ],
      },
    },
    up(),
  );
  await add(
    "exec.open",
    {
      t: "exec.open",
      seq: 6,
      sid: 1,
      argv: ["uname", "-a"],
      cwd: "/tmp",
      env: { LANG: "C.UTF-8", TERM: "dumb" },
      timeout: 30_000,
      credit: 1_048_576,
    },
    down(),
  );
  await add("exec.open minimal", { t: "exec.open", seq: 7, sid: 3, argv: ["true"], credit: 0 }, down());
  await add("credit agent>cp", { t: "credit", seq: 4, sid: 1, bytes: 65_536 }, up());
  await add("stdin", { t: "stdin", seq: 8, sid: 1, data: new TextEncoder().encode("hello\n") }, down());
  await add("stdin eof", { t: "stdin", seq: 9, sid: 1, data: new Uint8Array(0), eof: true }, down());
  await add("stdout", { t: "stdout", seq: 5, sid: 1, data: new TextEncoder().encode("Linux web01 6.8.0\n") }, up());
  await add("stderr", { t: "stderr", seq: 6, sid: 1, data: Uint8Array.of(0, 1, 2, 0xfe, 0xff) }, up());
  await add("signal", { t: "signal", seq: 10, sid: 1, name: "SIGTERM" }, down());
  await add(
    "pty.open",
    { t: "pty.open", seq: 11, sid: 5, cwd: "/srv", env: { LANG: "C.UTF-8" }, cols: 132, rows: 43, term: "xterm-256color", credit: 65536 },
    down(),
  );
  await add("pty.open minimal", { t: "pty.open", seq: 12, sid: 7, cols: 80, rows: 24, credit: 0 }, down());
  await add("resize", { t: "resize", seq: 13, sid: 5, cols: 100, rows: 30 }, down());
  await add(
    "console.open",
    { t: "console.open", seq: 14, sid: 9, vm: "web-vm", mode: "write", lines: 0, follow: true, credit: 65536 },
    down(),
  );
  await add(
    "console.open history",
    { t: "console.open", seq: 15, sid: 11, vm: "web-vm", mode: "history", lines: 200, follow: false, credit: 4_194_304 },
    down(),
  );
  await add("console.opened", { t: "console.opened", seq: 9, sid: 9, mode: "write" }, up());
  await add(
    "console.opened read-only",
    { t: "console.opened", seq: 10, sid: 11, mode: "read", reason: "another session writes to this console" },
    up(),
  );
  await add("exit", { t: "exit", seq: 7, sid: 1, code: 0 }, up());
  await add("exit by signal", { t: "exit", seq: 8, sid: 3, code: null, signal: "SIGKILL" }, up());
  await add("credit cp>agent", { t: "credit", seq: 11, sid: 1, bytes: 4_294_967_295 }, down());
  await add("tcp.open port", { t: "tcp.open", seq: 12, sid: 5, target: 22, credit: 262_144 }, down());
  await add("tcp.open service from the agent", { t: "tcp.open", seq: 9, sid: 2, target: "postgres", credit: 0 }, up());
  await add("tcp.opened", { t: "tcp.opened", seq: 10, sid: 5, credit: 262_144 }, up());
  const bulk = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) & 0xff);
  await add("data cp>agent", { t: "data", seq: 13, sid: 5, data: bulk }, down());
  await add("data agent>cp", { t: "data", seq: 11, sid: 5, data: Uint8Array.of(0x53, 0x53, 0x48) }, up());
  await add("fin", { t: "fin", seq: 12, sid: 5 }, up());
  await add("close", { t: "close", seq: 14, sid: 5, reason: "done" }, down());
  await add("close without reason", { t: "close", seq: 13, sid: 2 }, up());
  await add("error", { t: "error", seq: 15, code: "not_found", message: "no such service: postgres", sid: 2 }, down());
  await add("error on the connection", { t: "error", seq: 14, code: "busy", message: "too many streams" }, up());

  const SHA = Uint8Array.from({ length: 32 }, (_, i) => i);
  const appSpec = {
    kind: "app" as const,
    release: 3,
    cmd: ["bun", "server.js"],
    env: { LOG_LEVEL: "info" },
    health: { http: "/healthz", interval: 1000, timeout: 2000, grace: 30_000 },
    restart: "always" as const,
    stopSignal: "SIGTERM",
    stopTimeout: 10_000,
    hook: ["bun", "migrate.js"],
    listen: "127.0.0.1:8080",
    keep: 5,
    revertWindow: 60_000,
    revertTo: 2,
  };
  await add(
    "workloads (cap 6)",
    {
      t: "workloads",
      seq: 16,
      workloads: [
        {
          id: "wl_0123456789abcdef",
          tenant: "ten_0123456789abcdef",
          kind: "app",
          name: "shop",
          generation: 7,
          desired: "running",
          spec: appSpec,
          artifact: { sha256: SHA, size: 10_240 },
          env: [Uint8Array.of(0xa1, 0x61, 0x6e, 0x61, 0x4b)],
          actions: [{ id: "act_0123456789abcdef", op: "restart" }],
        },
      ],
    },
    down(),
  );
  await add("workloads, none", { t: "workloads", seq: 17, workloads: [] }, down());
  await add(
    "workload.status (cap 6)",
    {
      t: "workload.status",
      seq: 15,
      id: "wl_0123456789abcdef",
      generation: 7,
      live: 3,
      instances: [
        { release: 3, state: "healthy", pid: 4242, port: 41_000, restarts: 0, since: TIME + 1 },
        { release: 2, state: "stopped", restarts: 1, exit: { code: null, signal: "SIGTERM" }, health: "200 OK", since: TIME },
      ],
      message: "release 3 is live",
      actions: [{ id: "act_0123456789abcdef", ok: true }],
    },
    up(),
  );
  await add(
    "workloads with a vm (cap 9)",
    {
      t: "workloads",
      seq: 21,
      workloads: [
        {
          id: "wl_0123456789abcdeg",
          tenant: "ten_0123456789abcdef",
          kind: "vm",
          name: "web",
          generation: 3,
          desired: "running",
          spec: {
            kind: "vm",
            image: "tiny",
            cmdline: "console=ttyS0 panic=-1 quiet",
            cpus: 1,
            memory: 256,
            disk: 2048,
            ports: [8080, 22],
            userData: new TextEncoder().encode("#cloud-config\n"),
            driver: "qemu",
            stopTimeout: 30_000,
          },
          artifact: { sha256: SHA, size: 20_480 },
          env: [],
          actions: [{ id: "act_0123456789abcdeg", op: "snapshot", arg: "s1" }, { id: "act_0123456789abcdeh", op: "pause" }],
        },
      ],
    },
    down(),
  );
  await add(
    "workload.status of a vm (cap 9)",
    {
      t: "workload.status",
      seq: 16,
      id: "wl_0123456789abcdeg",
      generation: 3,
      instances: [],
      message: "started",
      actions: [{ id: "act_0123456789abcdeg", ok: true }],
      vm: {
        state: "started",
        driver: "qemu",
        pid: 4243,
        ports: [{ guest: 8080, host: 41_001 }],
        snapshots: [{ name: "s1", at: TIME }],
        since: TIME + 2,
      },
    },
    up(),
  );
  await add("logs.open (cap 6)", { t: "logs.open", seq: 18, sid: 7, name: "shop", lines: 100, follow: true, since: TIME, credit: 65_536 }, down());
  await add(
    "job (cap 7)",
    { t: "job", seq: 19, job: "job_0123456789abcdef", steps: [["apt-get", "update"], ["uptime"]], expires: TIME + 86_400_000, timeout: 30_000 },
    down(),
  );
  await add("job.cancel (cap 7)", { t: "job.cancel", seq: 20, job: "job_0123456789abcdef" }, down());
  await add(
    "job.result (cap 7)",
    {
      t: "job.result",
      seq: 16,
      job: "job_0123456789abcdef",
      state: "failed",
      step: 1,
      code: 2,
      message: "step 2 exited 2",
      durationMs: 1234,
      stdout: new TextEncoder().encode("ok\n"),
      stderr: new TextEncoder().encode("no\n"),
    },
    up(),
  );

  // ## Invalid: each refused with a specific ProtocolError code.
  const invalid: InvalidVector[] = [];
  const refuse = async (
    name: string,
    error: ProtocolErrorCode,
    message: Uint8Array,
    ctx: FrameContext,
    key: Signer = agent,
  ) => {
    // A vector must fail for its stated reason, not some other one: check before writing it down.
    const outcome = await openFrame(message, new Verifier(key.publicKey), ctx).then(
      () => "opened",
      (e: unknown) => (e instanceof ProtocolError ? e.code : String(e)),
    );
    if (outcome !== error) throw new Error(`invalid vector "${name}": expected ${error}, got ${outcome}`);
    const closeCode = closeCodeFor(new ProtocolError(error, name));
    invalid.push({
      name,
      publicKeyHex: _toHex(key.publicKey),
      connectionId: ctx.connectionId,
      direction: ctx.direction,
      messageHex: _toHex(message),
      error,
      closeCode,
    });
  };
  const signed = (payloadHex: string, ctx: FrameContext = up(), signer: Signer = agent) =>
    _sealPayload(_fromHex(payloadHex.replace(/\s/g, "")), signer, ctx);

  const ping = await sealFrame({ t: "ping", seq: 1, time: 5 }, agent, up());
  // a3 6174 6470696e67 6373657101 6474696d6505 = {"t": "ping", "seq": 1, "time": 5}
  const tampered = ping.slice();
  tampered[tampered.length - 67]! ^= 0x01; // the last payload byte (before 58 40 and the signature): time 5 → 4
  await refuse("tampered payload", "bad_signature", tampered, up());
  await refuse("signed by another key, kid rewritten to the known key", "bad_signature", withKid(await sealFrame({ t: "ping", seq: 1, time: 5 }, other, up()), agent), up());
  await refuse("unknown key id", "unknown_key", await sealFrame({ t: "ping", seq: 1, time: 5 }, other, up()), up());
  await refuse("wrong direction (reflected)", "bad_signature", ping, down());
  await refuse("wrong connection (replayed elsewhere)", "bad_signature", ping, up(CONN_B));
  await refuse("truncated", "malformed", ping.subarray(0, ping.length - 1), up());
  await refuse("trailing byte", "malformed", _concatBytes(ping, Uint8Array.of(0)), up());
  await refuse("untagged COSE_Sign1", "malformed", ping.subarray(1), up());
  await refuse(
    "protected header alg -7 (ES256)", "malformed",
    _concatBytes(Uint8Array.of(0xd2), encodeCbor(replaceItem(ping, 0, Uint8Array.of(0xa1, 0x01, 0x26)))),
    up(),
  );
  await refuse("duplicate map key", "malformed", await signed("a4 6174 6470696e67 6174 6470696e67 6373657101 6474696d6505"), up());
  await refuse("map keys out of order", "malformed", await signed("a3 6373657101 6174 6470696e67 6474696d6505"), up());
  await refuse("indefinite-length map", "malformed", await signed("bf 6174 6470696e67 6373657101 6474696d6505 ff"), up());
  await refuse("integer not in shortest form", "malformed", await signed("a3 6174 6470696e67 63736571 1801 6474696d6505"), up());
  await refuse("float", "malformed", await signed("a3 6174 6470696e67 6373657101 6474696d65 fb4014000000000000"), up());
  // {"t": "config", "seq": 1, "config": {"a": {"a": … {} }}}: 17 maps deep in all.
  await refuse(
    "nesting 17 deep", "malformed",
    await signed(`a3 6174 66636f6e666967 6373657101 66636f6e666967 ${"a16161".repeat(15)} a0`, down(), cp),
    down(),
    cp,
  );
  await refuse("unknown frame type", "unknown_frame", await signed(_toHex(encodeCbor(new Map<string, CborValue>([["t", "exec.spawn"], ["seq", 1]]))), down(), cp), down(), cp);
  await refuse(
    "agent frame sent cp>agent", "unknown_frame",
    await _sealPayload(_fromHex(valid.find((v) => v.name === "hello")!.payloadHex), cp, down()),
    down(),
    cp,
  );
  await refuse(
    "exec.open with an even stream id", "malformed",
    await signed(_toHex(encodeCbor(new Map<string, CborValue>([["t", "exec.open"], ["seq", 1], ["sid", 2], ["argv", ["ls"]], ["credit", 0]]))), down(), cp),
    down(),
    cp,
  );
  await refuse(
    "argv with U+0000", "malformed",
    await signed(_toHex(encodeCbor(new Map<string, CborValue>([["t", "exec.open"], ["seq", 1], ["sid", 1], ["argv", ["ls\0-la"]], ["credit", 0]]))), down(), cp),
    down(),
    cp,
  );
  await refuse(
    "console.open of a VM name that is a path", "malformed",
    await signed(_toHex(encodeCbor(new Map<string, CborValue>([["t", "console.open"], ["seq", 1], ["sid", 1], ["vm", "../../etc"], ["mode", "write"], ["lines", 0], ["follow", true], ["credit", 0]]))), down(), cp),
    down(),
    cp,
  );
  const listener = (listen: string) => new Map<string, CborValue>([["route", "mesh_a"], ["listen", listen], ["to", "db01.prod:postgres"]]);
  await refuse(
    "config listener on a public address", "malformed",
    await signed(_toHex(encodeCbor(new Map<string, CborValue>([["t", "config"], ["seq", 1], ["config", new Map<string, CborValue>([["services", []], ["listeners", [listener("0.0.0.0:15432")]]])]]))), down(), cp),
    down(),
    cp,
  );
  await refuse(
    "config with a route listed twice", "malformed",
    await signed(_toHex(encodeCbor(new Map<string, CborValue>([["t", "config"], ["seq", 1], ["config", new Map<string, CborValue>([["services", []], ["listeners", [listener("127.0.0.1:15432"), listener("127.0.0.1:15433")]]])]]))), down(), cp),
    down(),
    cp,
  );
  const workload = (spec: Map<string, CborValue>) =>
    new Map<string, CborValue>([["t", "workloads"], ["seq", 1], ["workloads", [new Map<string, CborValue>([
      ["id", "wl_0123456789abcdef"], ["tenant", "ten_0123456789abcdef"], ["kind", "app"], ["name", "shop"], ["generation", 1], ["desired", "running"], ["spec", spec],
      ["artifact", new Map<string, CborValue>([["sha256", new Uint8Array(32)], ["size", 1]])], ["env", []], ["actions", []],
    ])]]]);
  await refuse(
    "workload with a spec of an unknown kind", "malformed",
    await signed(_toHex(encodeCbor(workload(new Map<string, CborValue>([["kind", "pod"]])))), down(), cp),
    down(),
    cp,
  );
  await refuse(
    "workload spec with an unknown field", "malformed",
    await signed(_toHex(encodeCbor(workload(new Map<string, CborValue>([["kind", "app"], ["release", 1], ["cmd", ["true"]], ["env", new Map()], ["restart", "always"], ["stopSignal", "SIGTERM"], ["stopTimeout", 1], ["keep", 1], ["revertWindow", 0], ["shell", "rm -rf /"]])))), down(), cp),
    down(),
    cp,
  );
  await refuse(
    "workload.status from the control plane", "unknown_frame",
    await signed(_toHex(encodeCbor(new Map<string, CborValue>([["t", "workload.status"], ["seq", 1], ["id", "wl_0123456789abcdef"], ["generation", 1], ["instances", []], ["actions", []]]))), down(), cp),
    down(),
    cp,
  );
  await refuse(
    "workload.status with a health tail holding an escape", "malformed",
    await signed(_toHex(encodeCbor(new Map<string, CborValue>([["t", "workload.status"], ["seq", 1], ["id", "wl_0123456789abcdef"], ["generation", 1], ["instances", [new Map<string, CborValue>([["release", 1], ["state", "failed"], ["restarts", 0], ["health", "\u001b[2Jgone"], ["since", 0]])]], ["actions", []]]))), up()),
    up(),
  );
  await refuse(
    "vm workload whose snapshot name is a path", "malformed",
    await signed(_toHex(encodeCbor(new Map<string, CborValue>([["t", "workloads"], ["seq", 1], ["workloads", [new Map<string, CborValue>([
      ["id", "wl_0123456789abcdef"], ["tenant", "ten_0123456789abcdef"], ["kind", "vm"], ["name", "web"], ["generation", 1], ["desired", "running"],
      ["spec", new Map<string, CborValue>([["kind", "vm"], ["image", "tiny"], ["cmdline", ""], ["cpus", 1], ["memory", 256], ["disk", 0], ["ports", []], ["stopTimeout", 1000]])],
      ["artifact", new Map<string, CborValue>([["sha256", new Uint8Array(32)], ["size", 1]])], ["env", []],
      ["actions", [new Map<string, CborValue>([["id", "act_0123456789abcdef"], ["op", "restore"], ["arg", "../../etc"]])]],
    ])]]]))), down(), cp),
    down(),
    cp,
  );
  await refuse(
    "workload.status of a vm in a state no VM has", "malformed",
    await signed(_toHex(encodeCbor(new Map<string, CborValue>([["t", "workload.status"], ["seq", 1], ["id", "wl_0123456789abcdef"], ["generation", 1], ["instances", []], ["actions", []],
      ["vm", new Map<string, CborValue>([["state", "\u001b[2Jowned"], ["ports", []], ["snapshots", []], ["since", 0]])]]))), up()),
    up(),
  );
  const facts = (hostname: string) => new Map<string, CborValue>([["hostname", hostname], ["os", "linux"], ["arch", "x64"], ["cpus", 2], ["memory", 1024], ["runtime", "bun"], ["runtimeVersion", "1.4.5"]]);
  const hello = (f: Map<string, CborValue>) => new Map<string, CborValue>([["t", "hello"], ["seq", 1], ["host", HOST], ["nonce", NONCE], ["version", "0.1.0"], ["cap", 4], ["facts", f]]);
  await refuse(
    "hostname with an OSC 52 clipboard write", "malformed",
    await signed(_toHex(encodeCbor(hello(facts("web\u001b]52;c;ZWNobyBoaQ==\u0007")))), up()),
    up(),
  );
  await refuse(
    "hostname with a C1 CSI (U+009B)", "malformed",
    await signed(_toHex(encodeCbor(hello(facts("web\u009b2J")))), up()),
    up(),
  );
  await refuse(
    "hostname with a bidi override (U+202E)", "malformed",
    await signed(_toHex(encodeCbor(hello(facts("web\u202e10bew")))), up()),
    up(),
  );
  await refuse(
    "close reason with a newline", "malformed",
    await signed(_toHex(encodeCbor(new Map<string, CborValue>([["t", "close"], ["seq", 1], ["sid", 2], ["reason", "done\nforged line"]])))),
    up(),
  );
  await refuse(
    "unknown field", "malformed",
    await signed(_toHex(encodeCbor(new Map<string, CborValue>([["t", "fin"], ["seq", 1], ["sid", 1], ["x", 0]])))),
    up(),
  );
  await refuse("seq 0", "malformed", await signed(_toHex(encodeCbor(new Map<string, CborValue>([["t", "fin"], ["seq", 0], ["sid", 1]])))), up());

  const dataKeys = await dataKeyVectors(agent);

  return {
    description:
      "Known-answer vectors for the Outpost wire protocol (schema/protocol). Each valid vector is a frame, " +
      "sealed by the key with seedHex for connectionId and direction, giving messageHex; opening messageHex " +
      "with publicKeyHex must give the frame back, and sealing the frame must give messageHex. Each invalid " +
      "vector must be refused with `error` (close code `closeCode`) by an opener that knows only publicKeyHex. " +
      "Frames are JSON with bytes as {$hex}. Generated by scripts/gen-vectors.ts.",
    magic: PROTOCOL_MAGIC,
    capability: PROTOCOL_CAPABILITY,
    keys: [
      { name: "agent", seedHex: _toHex(AGENT_SEED), publicKeyHex: _toHex(agent.publicKey), publicKey: formatHostKey(agent.publicKey), keyId: agent.keyId },
      { name: "control plane", seedHex: _toHex(CP_SEED), publicKeyHex: _toHex(cp.publicKey), publicKey: formatControlPlaneKey(cp.publicKey), keyId: cp.keyId },
      { name: "other", seedHex: _toHex(OTHER_SEED), publicKeyHex: _toHex(other.publicKey), publicKey: formatHostKey(other.publicKey), keyId: other.keyId },
    ],
    valid,
    invalid,
    dataKeys,
  };
}

const SHARED = Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i);
const AGENT_KX = Uint8Array.from({ length: 32 }, (_, i) => 0x60 + i);
const CP_KX = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);

async function dataKeyVectors(agent: Signer): Promise<DataKeyVectors> {
  const dk = { connectionId: CONN_A, nonce: NONCE, agentKx: AGENT_KX, cpKx: CP_KX };
  const raw = await deriveDataKeys(SHARED, dk);
  const key = { "agent>cp": await DataKey.fromBytes(raw["agent>cp"]), "cp>agent": await DataKey.fromBytes(raw["cp>agent"]) };
  const ctx = (direction: Direction, connectionId: ConnectionId = CONN_A, withKey = true): FrameContext => ({
    connectionId,
    direction,
    ...(withKey ? { dataKey: key[direction] } : {}),
  });
  const valid: DataKeyVectors["valid"] = [];
  const mac = async (name: string, frame: Frame, direction: Direction) => {
    const message = await sealFrame(frame, agent, ctx(direction));
    valid.push({ name, direction, frame: toJson(frame), payloadHex: _toHex(encodeFrame(frame, direction)), messageHex: _toHex(message) });
    return message;
  };
  const data = await mac("data agent>cp", { t: "data", seq: 11, sid: 5, data: Uint8Array.of(0x53, 0x53, 0x48) }, "agent>cp");
  await mac("data cp>agent", { t: "data", seq: 13, sid: 5, data: Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) & 0xff) }, "cp>agent");
  await mac("stdin", { t: "stdin", seq: 8, sid: 1, data: new TextEncoder().encode("hello\n"), eof: true }, "cp>agent");
  await mac("stdout", { t: "stdout", seq: 5, sid: 1, data: new TextEncoder().encode("Linux web01 6.8.0\n") }, "agent>cp");
  await mac("stderr", { t: "stderr", seq: 6, sid: 1, data: new Uint8Array(0) }, "agent>cp");

  const invalid: DataKeyVectors["invalid"] = [];
  const refuse = async (name: string, error: ProtocolErrorCode, message: Uint8Array, c: FrameContext) => {
    const outcome = await openFrame(message, new Verifier(agent.publicKey), c).then(
      () => "opened",
      (e: unknown) => (e instanceof ProtocolError ? e.code : String(e)),
    );
    if (outcome !== error) throw new Error(`invalid data key vector "${name}": expected ${error}, got ${outcome}`);
    invalid.push({
      name,
      connectionId: c.connectionId,
      direction: c.direction,
      ...(c.dataKey ? {} : { noKey: true as const }),
      messageHex: _toHex(message),
      error,
      closeCode: closeCodeFor(new ProtocolError(error, name)),
    });
  };
  const tampered = data.slice();
  tampered[tampered.length - 35]! ^= 0x01; // the last payload byte, before 58 20 and the tag
  await refuse("tampered MAC'd payload", "bad_signature", tampered, ctx("agent>cp"));
  await refuse("MAC'd frame reflected (the other direction's key)", "bad_signature", data, ctx("cp>agent"));
  await refuse("MAC'd frame replayed on another connection", "bad_signature", data, ctx("agent>cp", CONN_B));
  await refuse("COSE_Mac0 before a data key was agreed", "unexpected_frame", data, ctx("agent>cp", CONN_A, false));
  await refuse(
    "ping in COSE_Mac0",
    "malformed",
    await _macPayload(encodeFrame({ t: "ping", seq: 1, time: 5 }, "agent>cp"), key["agent>cp"], ctx("agent>cp")),
    ctx("agent>cp"),
  );
  await refuse(
    "data in COSE_Sign1 once a data key is agreed",
    "malformed",
    await sealFrame({ t: "data", seq: 11, sid: 5, data: Uint8Array.of(1) }, agent, { connectionId: CONN_A, direction: "agent>cp" }),
    ctx("agent>cp"),
  );
  const items = [...(decodeCbor(data, { tag: 17 }) as CborValue[])];
  items[1] = new Map([[4, keyIdBytes(agent.keyId)]]);
  await refuse("COSE_Mac0 with a kid", "malformed", _concatBytes(Uint8Array.of(0xd1), encodeCbor(items)), ctx("agent>cp"));
  items[1] = new Map();
  items[3] = (items[3] as Uint8Array).subarray(0, 16);
  await refuse("COSE_Mac0 with a truncated tag", "malformed", _concatBytes(Uint8Array.of(0xd1), encodeCbor(items)), ctx("agent>cp"));

  return {
    sharedHex: _toHex(SHARED),
    nonceHex: _toHex(NONCE),
    connectionId: CONN_A,
    agentKxHex: _toHex(AGENT_KX),
    cpKxHex: _toHex(CP_KX),
    keys: { "agent>cp": _toHex(raw["agent>cp"]), "cp>agent": _toHex(raw["cp>agent"]) },
    valid,
    invalid,
  };
}

/** The message with item `index` of its COSE_Sign1 array replaced. */
function replaceItem(message: Uint8Array, index: number, value: CborValue): CborValue[] {
  const items = [...(decodeCbor(message, { tag: 18 }) as CborValue[])];
  items[index] = value;
  return items;
}

/** The message with its kid header replaced by `signer`'s, signature unchanged. */
function withKid(message: Uint8Array, signer: Signer): Uint8Array {
  const items = replaceItem(message, 1, new Map([[4, keyIdBytes(signer.keyId)]]));
  return _concatBytes(Uint8Array.of(0xd2), encodeCbor(items));
}
