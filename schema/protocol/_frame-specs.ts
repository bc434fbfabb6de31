// The frame layouts of frames.ts as data: for each frame type, who may send it and a codec per field
// (type, length, range). frames.ts reads and writes every frame through this table, and the types
// below tie each entry to its interface, so a field added to one and not the other does not compile.

import { NAME_PATTERN, SERVICE_NAME_PATTERN } from "../names.ts";
import {
  _array,
  _bool,
  _bytes,
  _either,
  type _Field,
  type _Fields,
  _nullable,
  _oneOf,
  _optional,
  _parsed,
  _struct,
  _text,
  _textRecord,
  _uint,
  _uniqueBy,
  _uniqueTogether,
} from "./_fields.ts";
import type {
  AgentFrame,
  ConfigListener,
  ConfigService,
  ControlPlaneFrame,
  Direction,
  DriverFacts,
  ExecFacts,
  FrameOf,
  FrameType,
  HostConfig,
  HostFacts,
  HostReport,
  ReportedListener,
  ReportedService,
} from "./frames.ts";
import { CONSOLE_MODES, JOB_STATES } from "./frames.ts";
import { type KeyId, keyIdBytes, keyIdFromBytes, parseConnectionId, parseHostId } from "./keys.ts";
import {
  JOB_OUTPUT_TAIL,
  MAX_CHUNK_BYTES,
  MAX_CONFIG_ENTRIES,
  MAX_CONSOLE_LINES,
  MAX_CREDIT,
  MAX_EXEC_ALLOW_ENTRIES,
  MAX_EXEC_ARG_TEXT,
  MAX_EXEC_PREFIX_ITEMS,
  MAX_JOB_STEPS,
  MAX_PTY_COLS,
  MAX_PTY_ROWS,
  MAX_REPORT_ENTRIES,
  MAX_REPORT_TEXT,
  MAX_TARGET_TEXT,
} from "./limits.ts";
import { _LOGS_OPEN_FIELDS, _STATUS_FIELDS, _WORKLOADS, VM_DRIVERS } from "./workloads.ts";

type _Sender = "cp" | "agent" | "either";

type _SentBy<F> = F extends ControlPlaneFrame ? (F extends AgentFrame ? "either" : "cp") : "agent";

export interface _FrameSpec<F> {
  from: _SentBy<F>;
  fields: _Fields<Omit<F, "t" | "seq">>;
  /** Opens a stream: the sid's parity must match the opener (odd from the cp, even from the agent). */
  opens?: true;
}

export function _sentBy(from: _Sender, direction: Direction): boolean {
  return from === "either" || (from === "cp") === (direction === "cp>agent");
}

// ## Field codecs shared by many frames

const UINT32 = 0xffffffff;
/** Largest delay setTimeout honours; a longer exec timeout would fire at once. */
const MAX_TIMER_MS = 0x7fffffff;

export const _SEQ = _uint(1, Number.MAX_SAFE_INTEGER);
const SID = _uint(1, UINT32);
const CREDIT = _uint(0, MAX_CREDIT);
const TIME = _uint(0, Number.MAX_SAFE_INTEGER);
const NONCE = _bytes(32, 32);
const KX = _bytes(32, 32);
const CAP = _uint(1, 0xffff);
const CHUNK = _bytes(0, MAX_CHUNK_BYTES);
/** A bulk chunk, for the client stream frames too (client-frames.ts). */
export const _CHUNK = CHUNK;
/** A signal name as POSIX spells it, SIGTERM or SIGRTMIN+3; the client stream frames use it too. */
export const _SIGNAL = _text({ pattern: [/^SIG[A-Z0-9+-]{2,16}$/, "a signal name like SIGTERM"], max: 19 });
const OS_TEXT = _text({ max: 128 * 1024, noNul: true });
/** A job id as the control plane makes them (ids.ts): also a file name in the agent's ledger. */
const JOB_ID = _text({ pattern: [/^job_[0-9a-hjkmnp-tv-z]{16}$/, "a job id (job_…)"], max: 20 });
/** What tcp.open may name: a service, or (from the agent) a mesh route's id (names.ts). */
const SERVICE_NAME = SERVICE_NAME_PATTERN;

const ARGV = _array(OS_TEXT, 1, 4096);
const CWD = _optional(_text({ min: 1, max: 4096, noNul: true }));
const ENV = _optional(
  _textRecord(
    _text({ pattern: [/^[^=\0]+$/, "a variable name without = or U+0000"], max: 4096 }),
    OS_TEXT,
    4096,
  ),
);
/** A terminal's size (pty.open, resize), for the client stream frames too. */
export const _COLS = _uint(1, MAX_PTY_COLS);
export const _ROWS = _uint(1, MAX_PTY_ROWS);
const COLS = _COLS;
const ROWS = _ROWS;
/** TERM, as terminfo names it: no shell or escape characters can travel in it. */
const TERM = _text({ pattern: [/^[A-Za-z0-9._+-]{1,64}$/, "a terminal type like xterm-256color"], max: 64 });

const KID: _Field<KeyId> = {
  optional: false,
  read: (value, at) => keyIdFromBytes(_bytes(16, 16).read(value, at)),
  write: (kid) => keyIdBytes(kid),
};

/** Text an agent reports for people to read: one line, no control characters (control-characters.ts). */
const shown = (min: number, max: number) => _text({ min, max, noNul: true, display: true });

/** Capability 4: the agent owner's exec policy, as the agent enforces it. */
const EXEC_FACTS = _struct<ExecFacts>({
  mode: _oneOf(["any", "off", "allowlist"]),
  allow: _optional(
    _array(_array(shown(1, MAX_EXEC_ARG_TEXT), 1, MAX_EXEC_PREFIX_ITEMS), 0, MAX_EXEC_ALLOW_ENTRIES),
  ),
});

const FACTS = _struct<HostFacts>({
  hostname: shown(1, 255),
  os: shown(1, 64),
  kernel: _optional(shown(0, 256)),
  arch: shown(1, 64),
  cpus: _uint(0, UINT32),
  memory: _uint(0, Number.MAX_SAFE_INTEGER),
  disk: _optional(_uint(0, Number.MAX_SAFE_INTEGER)),
  uptime: _optional(_uint(0, Number.MAX_SAFE_INTEGER)),
  runtime: shown(1, 64),
  runtimeVersion: shown(1, 64),
  exec: _optional(EXEC_FACTS),
  drivers: _optional(
    _uniqueBy(
      _array(
        _struct<DriverFacts>({
          name: _oneOf(VM_DRIVERS),
          available: _bool,
          accel: _optional(_oneOf(["kvm", "tcg"])),
          version: _optional(shown(1, 64)),
          reason: _optional(shown(1, 300)),
        }),
        0,
        VM_DRIVERS.length,
      ),
      ["name"],
    ),
  ),
});

const CONFIG = _struct<HostConfig>({
  services: _uniqueBy(
    _array(
      _struct<ConfigService>({
        name: _text({ pattern: [SERVICE_NAME, "a service name like ssh"], max: 63 }),
        target: _text({ min: 1, max: MAX_TARGET_TEXT, noNul: true }),
      }),
      0,
      MAX_CONFIG_ENTRIES,
    ),
    ["name"],
  ),
  listeners: _uniqueBy(
    _array(
      _struct<ConfigListener>({
        route: _text({ pattern: [SERVICE_NAME, "a route id like mesh_…"], max: 63 }),
        // Mesh listeners bind the host's loopback only; the agent's policy checks the address again.
        listen: _text({
          pattern: [
            /^(?:127\.(?:\d{1,3}\.){2}\d{1,3}|\[::1\]):[1-9]\d{0,4}$/,
            "a loopback address and port like 127.0.0.1:15432 or [::1]:15432",
          ],
          max: 64,
        }),
        to: _text({ pattern: [/^[\x21-\x7e]+$/, "printable ASCII like db01.prod:postgres"], max: 264 }),
      }),
      0,
      MAX_CONFIG_ENTRIES,
    ),
    ["route", "listen"],
  ),
});

/** Capability 5: the agent's effective view. Its strings are the agent's word: bounded, one line each. */
const REPORT_TEXT = _text({ min: 1, max: MAX_REPORT_TEXT, noNul: true, display: true, cut: true });
const REPORT = _struct<HostReport>({
  services: _uniqueTogether(
    _array(
      _struct<ReportedService>({
        name: _text({ pattern: [SERVICE_NAME, "a service name like ssh"], max: 63 }),
        source: _oneOf(["agent", "cp"]),
        target: shown(1, MAX_TARGET_TEXT),
        wins: _bool,
        allowed: _bool,
        reason: _optional(REPORT_TEXT),
      }),
      0,
      MAX_REPORT_ENTRIES,
    ),
    ["name", "source"],
  ),
  listeners: _uniqueBy(
    _array(
      _struct<ReportedListener>({
        route: _text({ pattern: [SERVICE_NAME, "a route id like mesh_…"], max: 63 }),
        listen: shown(1, 64),
        state: _oneOf(["listening", "failed"]),
        error: _optional(REPORT_TEXT),
      }),
      0,
      MAX_REPORT_ENTRIES,
    ),
    ["route"],
  ),
});

// ## The table, in the order of frames.ts

export const _FRAME_SPECS: { [T in FrameType]: _FrameSpec<FrameOf<T>> } = {
  challenge: {
    from: "cp",
    fields: {
      nonce: NONCE,
      time: TIME,
      conn: _parsed(parseConnectionId, "a connection id (conn_…)"),
      kid: KID,
      cap: CAP,
    },
  },
  hello: {
    from: "agent",
    fields: {
      host: _parsed(parseHostId, "a host id (host_…)"),
      nonce: NONCE,
      version: _text({ pattern: [/^[\x21-\x7e]{1,64}$/, "1..64 printable ASCII characters"], max: 64 }),
      cap: CAP,
      facts: FACTS,
      kx: _optional(KX),
    },
  },
  ready: { from: "cp", fields: { heartbeat: _uint(1000, 600_000), kx: _optional(KX) } },
  ping: { from: "either", fields: { time: TIME } },
  pong: { from: "either", fields: { time: TIME } },
  error: {
    from: "either",
    fields: {
      code: _text({ pattern: [/^[a-z][a-z0-9_.]{0,63}$/, "a code like not_found"], max: 64 }),
      message: _text({ max: 1024, display: true }),
      sid: _optional(SID),
    },
  },
  config: { from: "cp", fields: { config: CONFIG } },
  report: { from: "agent", fields: { report: REPORT } },
  workloads: { from: "cp", fields: { workloads: _WORKLOADS } },
  "workload.status": { from: "agent", fields: _STATUS_FIELDS },
  "logs.open": { from: "cp", opens: true, fields: { sid: SID, ..._LOGS_OPEN_FIELDS, credit: CREDIT } },
  "exec.open": {
    from: "cp",
    opens: true,
    fields: {
      sid: SID,
      argv: ARGV,
      cwd: CWD,
      env: ENV,
      timeout: _optional(_uint(1, MAX_TIMER_MS)),
      credit: CREDIT,
    },
  },
  "pty.open": {
    from: "cp",
    opens: true,
    fields: {
      sid: SID,
      argv: _optional(ARGV),
      cwd: CWD,
      env: ENV,
      cols: COLS,
      rows: ROWS,
      term: _optional(TERM),
      credit: CREDIT,
    },
  },
  resize: { from: "cp", fields: { sid: SID, cols: COLS, rows: ROWS } },
  "console.open": {
    from: "cp",
    opens: true,
    fields: {
      sid: SID,
      vm: _text({ pattern: [NAME_PATTERN, "a VM name (a DNS label)"], max: 63 }),
      mode: _oneOf(CONSOLE_MODES),
      lines: _uint(0, MAX_CONSOLE_LINES),
      follow: _bool,
      credit: CREDIT,
    },
  },
  "console.opened": {
    from: "agent",
    fields: {
      sid: SID,
      mode: _oneOf(["write", "read"] as const),
      reason: _optional(_text({ max: 1024, display: true })),
    },
  },
  stdin: { from: "cp", fields: { sid: SID, data: CHUNK, eof: _optional(_bool) } },
  stdout: { from: "agent", fields: { sid: SID, data: CHUNK } },
  stderr: { from: "agent", fields: { sid: SID, data: CHUNK } },
  exit: {
    from: "agent",
    fields: {
      sid: SID,
      code: _nullable(_uint(0, 255)),
      signal: _optional(_SIGNAL),
    },
  },
  signal: {
    from: "cp",
    fields: {
      sid: SID,
      name: _SIGNAL,
    },
  },
  credit: { from: "either", fields: { sid: SID, bytes: _uint(1, MAX_CREDIT) } },
  "tcp.open": {
    from: "either",
    opens: true,
    fields: {
      sid: SID,
      target: _either(
        _uint(1, 65535),
        _text({ pattern: [SERVICE_NAME, "a port or a service name like ssh"], max: 63 }),
        (value) => typeof value === "number",
      ),
      credit: CREDIT,
    },
  },
  "tcp.opened": { from: "either", fields: { sid: SID, credit: CREDIT } },
  data: { from: "either", fields: { sid: SID, data: CHUNK } },
  fin: { from: "either", fields: { sid: SID } },
  close: { from: "either", fields: { sid: SID, reason: _optional(_text({ max: 1024, display: true })) } },
  job: {
    from: "cp",
    fields: {
      job: JOB_ID,
      steps: _array(_array(OS_TEXT, 1, 4096), 1, MAX_JOB_STEPS),
      expires: TIME,
      timeout: _optional(_uint(1, MAX_TIMER_MS)),
    },
  },
  "job.cancel": { from: "cp", fields: { job: JOB_ID } },
  "job.result": {
    from: "agent",
    fields: {
      job: JOB_ID,
      state: _oneOf(JOB_STATES),
      step: _optional(_uint(0, MAX_JOB_STEPS - 1)),
      code: _optional(_nullable(_uint(0, 255))),
      signal: _optional(_SIGNAL),
      message: _optional(_text({ max: 1024, display: true })),
      durationMs: _optional(TIME),
      stdout: _optional(_bytes(0, JOB_OUTPUT_TAIL)),
      stderr: _optional(_bytes(0, JOB_OUTPUT_TAIL)),
    },
  },
};
