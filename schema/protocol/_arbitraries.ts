// fast-check arbitraries for the protocol's tests: any valid frame, any CBOR value in the data model.
// Test-only (imports fast-check); nothing outside *.test.ts imports this file.

import fc from "fast-check";
import { NAME_PATTERN, SERVICE_NAME_PATTERN } from "../names.ts";
import { _toBase64Url } from "./_bytes.ts";
import type { CborKey, CborMap, CborValue } from "./cbor-value.ts";
import { findControlCharacter } from "./control-characters.ts";
import type { Direction, ExecFacts, Frame, FrameType, HostConfig, HostFacts, HostReport } from "./frames.ts";
import { CONSOLE_MODES, JOB_STATES } from "./frames.ts";
import { type ConnectionId, type HostId, type KeyId, keyIdFromBytes } from "./keys.ts";
import { MAX_NESTING } from "./limits.ts";
import type { AppRunSpec, InstanceStatus, VmRunSpec, VmStatus, Workload } from "./workloads.ts";

const text = (maxLength: number, minLength = 0) =>
  fc.string({ unit: "binary", minLength, maxLength }).filter((s) => !s.includes("\0"));
/** Text a person reads (facts, messages, reasons): anything but the control characters refused there. */
const shown = (maxLength: number, minLength = 0) =>
  fc.string({ unit: "binary", minLength, maxLength }).filter((s) => findControlCharacter(s) === undefined);
const uint = (max = Number.MAX_SAFE_INTEGER, min = 0) => fc.integer({ min, max });
const bytes = (minLength: number, maxLength: number) => fc.uint8Array({ minLength, maxLength });
const seq = uint(Number.MAX_SAFE_INTEGER, 1);
const sid = uint(0xffffffff, 1);
const chunk = bytes(0, 64);

const connectionIdArb: fc.Arbitrary<ConnectionId> = bytes(16, 16).map(
  (b) => `conn_${_toBase64Url(b)}` as ConnectionId,
);
const hostIdArb: fc.Arbitrary<HostId> = bytes(16, 16).map((b) => `host_${_toBase64Url(b)}` as HostId);
const keyIdArb: fc.Arbitrary<KeyId> = bytes(16, 16).map(keyIdFromBytes);

const execFactsArb: fc.Arbitrary<ExecFacts> = fc.oneof(
  fc.record({ mode: fc.constantFrom("any" as const, "off" as const) }),
  fc.record({
    mode: fc.constant("allowlist" as const),
    allow: fc.array(fc.array(shown(16, 1), { minLength: 1, maxLength: 4 }), { maxLength: 4 }),
  }),
);

const factsArb: fc.Arbitrary<HostFacts> = fc.record(
  {
    hostname: shown(255, 1),
    os: shown(64, 1),
    kernel: shown(256),
    arch: shown(64, 1),
    cpus: uint(0xffffffff),
    memory: uint(),
    disk: uint(),
    uptime: uint(),
    runtime: shown(64, 1),
    runtimeVersion: shown(64, 1),
    exec: execFactsArb,
    drivers: fc.constantFrom(
      [],
      [{ name: "qemu" as const, available: true, accel: "tcg" as const, version: "7.2.15" }],
      [{ name: "firecracker" as const, available: false, reason: "not on PATH" }],
    ),
  },
  { requiredKeys: ["hostname", "os", "arch", "cpus", "memory", "runtime", "runtimeVersion"] },
);

const nameArb = fc.stringMatching(SERVICE_NAME_PATTERN);
const configArb: fc.Arbitrary<HostConfig> = fc.record({
  services: fc.uniqueArray(fc.record({ name: nameArb, target: text(261, 1) }), {
    maxLength: 4,
    selector: (s) => s.name,
  }),
  listeners: fc.uniqueArray(
    fc.record({
      route: nameArb,
      listen: fc.stringMatching(/^(?:127\.(?:\d{1,3}\.){2}\d{1,3}|\[::1\]):[1-9]\d{0,4}$/),
      to: fc.stringMatching(/^[\x21-\x7e]{1,264}$/),
    }),
    { maxLength: 4, comparator: (a, b) => a.route === b.route || a.listen === b.listen },
  ),
});

const reportArb: fc.Arbitrary<HostReport> = fc.record({
  services: fc.uniqueArray(
    fc.record(
      {
        name: nameArb,
        source: fc.constantFrom("agent" as const, "cp" as const),
        target: shown(261, 1),
        wins: fc.boolean(),
        allowed: fc.boolean(),
        reason: shown(160, 1),
      },
      { requiredKeys: ["name", "source", "target", "wins", "allowed"] },
    ),
    { maxLength: 4, comparator: (a, b) => a.name === b.name && a.source === b.source },
  ),
  listeners: fc.uniqueArray(
    fc.record(
      {
        route: nameArb,
        listen: shown(64, 1),
        state: fc.constantFrom("listening" as const, "failed" as const),
        error: shown(160, 1),
      },
      { requiredKeys: ["route", "listen", "state"] },
    ),
    { maxLength: 4, selector: (l) => l.route },
  ),
});
const b32 = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-z]{${n}}$`));
const argvArb = fc.array(text(16, 1), { minLength: 1, maxLength: 3 });
const signalArb = fc.stringMatching(/^SIG[A-Z0-9+-]{2,16}$/);
const appSpecArb: fc.Arbitrary<AppRunSpec> = fc.record(
  {
    kind: fc.constant("app" as const),
    release: uint(0x7fffffff, 1),
    cmd: argvArb,
    env: fc.dictionary(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/), text(16), { maxKeys: 3 }),
    health: fc.record(
      {
        http: fc.stringMatching(/^\/[\x21-\x7e]{0,16}$/),
        tcp: fc.boolean(),
        cmd: argvArb,
        interval: uint(3_600_000, 100),
        timeout: uint(3_600_000, 100),
        grace: uint(3_600_000),
      },
      { requiredKeys: ["interval", "timeout", "grace"] },
    ),
    restart: fc.constantFrom("always" as const, "on-failure" as const, "never" as const),
    stopSignal: signalArb,
    stopTimeout: uint(0x7fffffff),
    hook: argvArb,
    listen: fc.constantFrom("127.0.0.1:8080", "[::1]:9000"),
    keep: uint(100, 1),
    user: fc.stringMatching(/^[a-z_][a-z0-9_-]{0,8}$/),
    image: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,31}$/),
    revertWindow: uint(0x7fffffff),
    revertTo: uint(0x7fffffff, 1),
  },
  {
    requiredKeys: [
      "kind",
      "release",
      "cmd",
      "env",
      "restart",
      "stopSignal",
      "stopTimeout",
      "keep",
      "revertWindow",
    ],
  },
);
const snapshotArb = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,15}$/);
const vmSpecArb: fc.Arbitrary<VmRunSpec> = fc.record(
  {
    kind: fc.constant("vm" as const),
    image: fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$/),
    cmdline: shown(32),
    cpus: uint(64, 1),
    memory: uint(1 << 20, 16),
    disk: uint(1 << 20),
    ports: fc.array(uint(65535, 1), { maxLength: 3 }),
    userData: bytes(1, 32),
    driver: fc.constantFrom("qemu" as const, "firecracker" as const, "cloud-hypervisor" as const),
    stopTimeout: uint(0x7fffffff),
  },
  { requiredKeys: ["kind", "image", "cmdline", "cpus", "memory", "disk", "ports", "stopTimeout"] },
);
const vmStatusArb: fc.Arbitrary<VmStatus> = fc.record(
  {
    state: fc.constantFrom("created" as const, "started" as const, "paused" as const, "failed" as const),
    driver: fc.constant("qemu" as const),
    pid: uint(0x7fffffff, 1),
    ports: fc.array(fc.record({ guest: uint(65535, 1), host: uint(65535, 1) }), { maxLength: 2 }),
    address: fc.ipV4(),
    snapshots: fc.uniqueArray(fc.record({ name: snapshotArb, at: uint() }), {
      maxLength: 2,
      selector: (s) => s.name,
    }),
    since: uint(),
  },
  { requiredKeys: ["state", "ports", "snapshots", "since"] },
);
const workloadArb: fc.Arbitrary<Workload> = fc.record({
  id: b32(16).map((s) => `wl_${s}`),
  tenant: b32(16).map((s) => `ten_${s}`),
  kind: fc.constant("app" as const),
  name: nameArb,
  generation: uint(Number.MAX_SAFE_INTEGER, 1),
  desired: fc.constantFrom("running" as const, "stopped" as const, "absent" as const),
  spec: appSpecArb as fc.Arbitrary<AppRunSpec | VmRunSpec>,
  artifact: fc.record(
    { sha256: bytes(32, 32), size: uint(), token: fc.stringMatching(/^[\x21-\x7e]{1,32}$/) },
    { requiredKeys: ["sha256", "size"] },
  ),
  env: fc.array(bytes(1, 32), { maxLength: 3 }),
  actions: fc.uniqueArray(
    fc.record(
      {
        id: b32(16).map((s) => `act_${s}`),
        op: fc.stringMatching(/^[a-z][a-z0-9_.]{0,31}$/),
        arg: snapshotArb,
      },
      { requiredKeys: ["id", "op"] },
    ),
    { maxLength: 3, selector: (a) => a.id },
  ),
});
/** Apps and VMs alike: a VM workload is the same record with kind and spec "vm". */
const anyWorkloadArb: fc.Arbitrary<Workload> = fc
  .tuple(workloadArb, fc.option(vmSpecArb, { nil: undefined }))
  .map(([w, vm]) => (vm ? { ...w, kind: "vm" as const, spec: vm } : w));
const instanceArb: fc.Arbitrary<InstanceStatus> = fc.record(
  {
    release: uint(0x7fffffff, 1),
    state: fc.constantFrom(
      "starting" as const,
      "healthy" as const,
      "unhealthy" as const,
      "stopping" as const,
      "stopped" as const,
      "failed" as const,
    ),
    pid: uint(0x7fffffff, 1),
    port: uint(65535, 1),
    restarts: uint(0x7fffffff),
    exit: fc.record(
      { code: fc.option(uint(255), { nil: null }), signal: signalArb },
      { requiredKeys: ["code"] },
    ),
    health: shown(64),
    since: uint(),
  },
  { requiredKeys: ["release", "state", "restarts", "since"] },
);

/** Any CBOR value in the protocol's data model, nested at most `depth` deep. */
export function cborValueArb(depth = 4): fc.Arbitrary<CborValue> {
  const key: fc.Arbitrary<CborKey> = fc.oneof(
    fc.maxSafeInteger(),
    fc.string({ unit: "binary", maxLength: 8 }),
  );
  const leaf: fc.Arbitrary<CborValue> = fc.oneof(
    fc.maxSafeInteger(),
    fc.string({ unit: "binary", maxLength: 16 }),
    fc.boolean(),
    fc.constant(null),
    bytes(0, 16),
  );
  const { value } = fc.letrec<{ value: CborValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", maxDepth: Math.min(depth, MAX_NESTING) },
      leaf,
      fc.array(tie("value"), { maxLength: 4 }),
      cborMapArb(key, tie("value")),
    ),
  }));
  return value;
}

function cborMapArb(key: fc.Arbitrary<CborKey>, value: fc.Arbitrary<CborValue>): fc.Arbitrary<CborMap> {
  return fc
    .uniqueArray(fc.tuple(key, value), { maxLength: 4, selector: ([k]) => k })
    .map((entries) => new Map(entries));
}

const jobIdArb = fc.stringMatching(/^job_[0-9a-hjkmnp-tv-z]{16}$/);

const byType: { [T in FrameType]: fc.Arbitrary<Extract<Frame, { t: T }>> } = {
  challenge: fc.record({
    t: fc.constant("challenge"),
    seq,
    nonce: bytes(32, 32),
    time: uint(),
    conn: connectionIdArb,
    kid: keyIdArb,
    cap: uint(0xffff, 1),
  }),
  hello: fc.record({
    t: fc.constant("hello"),
    seq,
    host: hostIdArb,
    nonce: bytes(32, 32),
    version: fc.stringMatching(/^[\x21-\x7e]{1,64}$/),
    cap: uint(0xffff, 1),
    facts: factsArb,
  }),
  ready: fc.record({ t: fc.constant("ready"), seq, heartbeat: uint(600_000, 1000) }),
  ping: fc.record({ t: fc.constant("ping"), seq, time: uint() }),
  pong: fc.record({ t: fc.constant("pong"), seq, time: uint() }),
  error: fc.record(
    {
      t: fc.constant("error"),
      seq,
      code: fc.stringMatching(/^[a-z][a-z0-9_.]{0,63}$/),
      message: shown(1024),
      sid,
    },
    { requiredKeys: ["t", "seq", "code", "message"] },
  ),
  config: fc.record({
    t: fc.constant("config"),
    seq,
    config: configArb,
  }),
  report: fc.record({ t: fc.constant("report"), seq, report: reportArb }),
  workloads: fc.record({
    t: fc.constant("workloads"),
    seq,
    workloads: fc.uniqueArray(anyWorkloadArb, {
      maxLength: 3,
      comparator: (a, b) => a.id === b.id || a.name === b.name,
    }),
  }),
  "workload.status": fc.record(
    {
      t: fc.constant("workload.status"),
      seq,
      id: b32(16).map((s) => `wl_${s}`),
      generation: uint(),
      live: uint(0x7fffffff, 1),
      instances: fc.array(instanceArb, { maxLength: 3 }),
      message: shown(64),
      actions: fc.array(
        fc.record(
          { id: b32(16).map((s) => `act_${s}`), ok: fc.boolean(), message: shown(32) },
          { requiredKeys: ["id", "ok"] },
        ),
        { maxLength: 3 },
      ),
      vm: vmStatusArb,
    },
    { requiredKeys: ["t", "seq", "id", "generation", "instances", "actions"] },
  ),
  "logs.open": fc.record(
    {
      t: fc.constant("logs.open"),
      seq,
      sid: fc.integer({ min: 0, max: 0x7fffffff }).map((n) => n * 2 + 1),
      name: nameArb,
      lines: uint(100_000),
      follow: fc.boolean(),
      since: uint(),
      credit: uint(0xffffffff),
    },
    { requiredKeys: ["t", "seq", "sid", "name", "lines", "follow", "credit"] },
  ),
  "exec.open": fc.record(
    {
      t: fc.constant("exec.open"),
      seq,
      sid: fc.integer({ min: 0, max: 0x7fffffff }).map((n) => n * 2 + 1),
      argv: fc.array(text(32), { minLength: 1, maxLength: 8 }),
      cwd: text(64, 1),
      env: fc.dictionary(fc.stringMatching(/^[^=\0]{1,16}$/), text(32), { maxKeys: 4 }),
      timeout: uint(0x7fffffff, 1),
      credit: uint(0xffffffff),
    },
    { requiredKeys: ["t", "seq", "sid", "argv", "credit"] },
  ),
  "pty.open": fc.record(
    {
      t: fc.constant("pty.open"),
      seq,
      sid: fc.integer({ min: 0, max: 0x7fffffff }).map((n) => n * 2 + 1),
      argv: fc.array(text(32), { minLength: 1, maxLength: 8 }),
      cwd: text(64, 1),
      env: fc.dictionary(fc.stringMatching(/^[^=\0]{1,16}$/), text(32), { maxKeys: 4 }),
      cols: uint(1000, 1),
      rows: uint(1000, 1),
      term: fc.stringMatching(/^[A-Za-z0-9._+-]{1,64}$/),
      credit: uint(0xffffffff),
    },
    { requiredKeys: ["t", "seq", "sid", "cols", "rows", "credit"] },
  ),
  resize: fc.record({ t: fc.constant("resize"), seq, sid, cols: uint(1000, 1), rows: uint(1000, 1) }),
  "console.open": fc.record({
    t: fc.constant("console.open"),
    seq,
    sid: fc.integer({ min: 0, max: 0x7fffffff }).map((n) => n * 2 + 1),
    vm: fc.stringMatching(NAME_PATTERN),
    mode: fc.constantFrom(...CONSOLE_MODES),
    lines: uint(100_000),
    follow: fc.boolean(),
    credit: uint(0xffffffff),
  }),
  "console.opened": fc.record(
    {
      t: fc.constant("console.opened"),
      seq,
      sid,
      mode: fc.constantFrom("write" as const, "read" as const),
      reason: shown(64),
    },
    { requiredKeys: ["t", "seq", "sid", "mode"] },
  ),
  stdin: fc.record(
    { t: fc.constant("stdin"), seq, sid, data: chunk, eof: fc.boolean() },
    { requiredKeys: ["t", "seq", "sid", "data"] },
  ),
  signal: fc.record({ t: fc.constant("signal"), seq, sid, name: fc.stringMatching(/^SIG[A-Z0-9+-]{2,16}$/) }),
  stdout: fc.record({ t: fc.constant("stdout"), seq, sid, data: chunk }),
  stderr: fc.record({ t: fc.constant("stderr"), seq, sid, data: chunk }),
  exit: fc.record(
    {
      t: fc.constant("exit"),
      seq,
      sid,
      code: fc.option(uint(255), { nil: null }),
      signal: fc.stringMatching(/^SIG[A-Z0-9+-]{2,16}$/),
    },
    { requiredKeys: ["t", "seq", "sid", "code"] },
  ),
  credit: fc.record({ t: fc.constant("credit"), seq, sid, bytes: uint(0xffffffff, 1) }),
  "tcp.open": fc.record({
    t: fc.constant("tcp.open"),
    seq,
    sid,
    target: fc.oneof(uint(65535, 1), fc.stringMatching(SERVICE_NAME_PATTERN)),
    credit: uint(0xffffffff),
  }),
  "tcp.opened": fc.record({ t: fc.constant("tcp.opened"), seq, sid, credit: uint(0xffffffff) }),
  data: fc.record({ t: fc.constant("data"), seq, sid, data: chunk }),
  fin: fc.record({ t: fc.constant("fin"), seq, sid }),
  close: fc.record(
    { t: fc.constant("close"), seq, sid, reason: shown(64) },
    { requiredKeys: ["t", "seq", "sid"] },
  ),
  job: fc.record(
    {
      t: fc.constant("job"),
      seq,
      job: jobIdArb,
      steps: fc.array(
        fc.array(
          fc.string({ maxLength: 8 }).map((x) => x.replace(/\0/g, "")),
          { minLength: 1, maxLength: 3 },
        ),
        {
          minLength: 1,
          maxLength: 3,
        },
      ),
      expires: uint(),
      timeout: uint(0x7fffffff, 1),
    },
    { requiredKeys: ["t", "seq", "job", "steps", "expires"] },
  ),
  "job.cancel": fc.record({ t: fc.constant("job.cancel"), seq, job: jobIdArb }),
  "job.result": fc.record(
    {
      t: fc.constant("job.result"),
      seq,
      job: jobIdArb,
      state: fc.constantFrom(...JOB_STATES),
      step: uint(63),
      code: fc.option(uint(255), { nil: null }),
      signal: fc.stringMatching(/^SIG[A-Z0-9+-]{2,16}$/),
      message: shown(64),
      durationMs: uint(),
      stdout: bytes(0, 64),
      stderr: bytes(0, 64),
    },
    { requiredKeys: ["t", "seq", "job", "state"] },
  ),
};

const CP_ONLY: FrameType[] = [
  "challenge",
  "ready",
  "config",
  "workloads",
  "logs.open",
  "exec.open",
  "pty.open",
  "resize",
  "console.open",
  "stdin",
  "signal",
  "job",
  "job.cancel",
];
const AGENT_ONLY: FrameType[] = [
  "hello",
  "report",
  "stdout",
  "stderr",
  "exit",
  "console.opened",
  "workload.status",
  "job.result",
];

/** Any valid frame that may travel in `direction`, with a stream-opening sid of the right parity. */
export function frameArb(direction: Direction): fc.Arbitrary<Frame> {
  const excluded = direction === "cp>agent" ? AGENT_ONLY : CP_ONLY;
  const arbs = (Object.keys(byType) as FrameType[])
    .filter((t) => !excluded.includes(t))
    .map((t) => byType[t]);
  const parity = direction === "cp>agent" ? 1 : 0;
  return fc
    .oneof(...(arbs as fc.Arbitrary<Frame>[]))
    .map((frame) =>
      frame.t === "tcp.open" && frame.sid % 2 !== parity
        ? { ...frame, sid: frame.sid === 0xffffffff ? 0xfffffffe : frame.sid + 1 }
        : frame,
    );
}

/** A valid frame and a direction it may travel in. */
export const anyFrameArb: fc.Arbitrary<{ frame: Frame; direction: Direction }> = fc
  .constantFrom<Direction>("cp>agent", "agent>cp")
  .chain((direction) => frameArb(direction).map((frame) => ({ frame, direction })));
