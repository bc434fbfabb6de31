// # The Outpost wire protocol
//
// The one home of every frame that travels between a host agent and the control plane. Worker, agent
// and SDK import these types; nobody redefines a frame.
//
// One WebSocket per agent, dialled by the agent and held by its host's HostDO. Every message, in both
// directions, is one *binary* WebSocket message of at most MAX_MESSAGE_BYTES holding a COSE_Sign1
// (envelope.ts) signed with the sender's ed25519 key, except the bulk frames (data, stdin, stdout,
// stderr) once both sides speak capability 2: those carry a COSE_Mac0 under a per-connection,
// per-direction data key agreed inside the signed handshake (data-key.ts). The signature also covers PROTOCOL_MAGIC, the
// connection id and the direction, so a frame is only valid on the connection and in the direction it
// was sent. Its payload is one frame: a deterministic CBOR map with short text keys (layouts below, in
// CDDL, RFC 8610). Every frame has `t` (its type) and `seq`, which starts at 1 on each direction of each
// connection and goes up by one per frame; the receiver refuses any seq not above the last (4409).
// Anything the receiver cannot decode, cannot verify or does not expect closes the connection with a
// code from close-codes.ts.
//
// ## Protocol flow
//
//   agent                                              control plane (HostDO)
//     ── WebSocket upgrade ─────────────────────────────▶
//     ◀─ challenge {nonce, time, conn, kid, cap} ────────  signed by the cp key; the agent checks that
//                                                         kid is the key it pinned at enrollment
//     ── hello {host, nonce, version, cap, facts, kx?} ─▶  signed by the host key, nonce echoed;
//                                                         within HANDSHAKE_TIMEOUT_MS or close 4408;
//                                                         kx only when the challenge's cap ≥ 2
//     ◀─ ready {heartbeat, kx?} ─────────────────────────  or close 4401 / 4403 / 4409 / 4426; kx
//                                                         only when hello had one: from here on
//                                                         both sides MAC their data frames
//     ◀─ ping {time} ─▶ pong {time}                        either side, every `heartbeat` ms; after
//                                                         HEARTBEAT_MISSES silent intervals, close 4408
//     ◀─ config {config} ────────────────────────────────  after ready, and whenever it changes
//     ── report {report} ────────────────────────────────▶  cap 5: the agent's effective view, after
//                                                         each config it applied (to a cp cap ≥ 5)
//     ◀─ workloads {workloads} ──────────────────────────  cap 6: after ready, and whenever they change
//     ── workload.status {id, generation, instances, …} ▶  cap 6: whenever what the agent sees changes
//     ◀─ job {job, steps, expires, timeout?} ────────────  cap ≥ 7: a queued job, after ready and
//                                                         when one is created; again on every
//                                                         connect until its result is in
//     ── job.result {job, state, …} ─────────────────────▶  running, then a final state; the agent
//                                                         runs each job id at most once (its ledger)
//     ◀─ job.cancel {job} ───────────────────────────────  the running step is signalled, no more start
//
//   Streams, any number at once, only after ready. Stream ids are never reused on a connection: the
//   control plane opens odd ids, the agent even ones, so both may open streams without colliding.
//
//     ◀─ exec.open {sid, argv, cwd?, env?, timeout?, credit} ─  credit: stdout+stderr bytes the agent
//     ── credit {sid, bytes} ───────────────────────────▶         may send; this grants stdin bytes
//     ◀─ stdin {sid, data, eof?} · signal {sid, name} ───
//     ── stdout {sid, data} · stderr {sid, data} ────────▶  never beyond the credit granted
//     ◀─ credit {sid, bytes} ────────────────────────────  as the cp's reader drains
//     ── exit {sid, code, signal?} ──────────────────────▶  ends the stream
//
//     ◀─ pty.open {sid, argv?, cwd?, env?, cols, rows, term?, credit} ─  cap 8: a process on a
//                                                         pseudo-terminal; no argv: the login shell
//     ◀─ stdin · signal · credit · resize {sid, cols, rows} ─  stdin is the terminal's input
//     ── stdout {sid, data} · credit · exit ─────────────▶  stdout is the terminal's output
//
//     ◀─ tcp.open {sid, target, credit} ─────────────────  to a local port or named service (the agent
//     ── tcp.opened {sid, credit} ───────────────────────▶  opens them too, for mesh routes, even sid)
//     ◀─ data · credit · fin ─▶                            both ways; fin half-closes one direction
//     ◀─ close {sid, reason?} ─▶                           either side, ends the stream at once; also
//                                                         the answer to an open that failed
//
//     ◀─ logs.open {sid, name, lines, follow, since?, credit} ─  cap 6: an app's captured output
//     ── stdout · stderr ─────────────────────────────────▶  its lines, within the credit granted
//     ◀─ credit ─────────────────────────────────────────
//     ── exit {sid, code: 0} ─────────────────────────────▶  the end (never, while following)
//
//     ◀─ console.open {sid, vm, mode, lines, follow, credit} ─  cap 10: a VM's serial console
//     ── console.opened {sid, mode, ? reason} ──────────▶  write / read: the mode granted (read when
//                                                         another stream holds the writer's seat)
//     ── stdout ──────────────────────────────────────────▶  the console's output, within the credit
//     ◀─ stdin (a writer only, within the agent's credit) · credit ─
//     ── exit {sid, code: 0} ─────────────────────────────▶  history without follow: the end
//     ── error {sid, code, message} · close ─────────────▶  an unknown VM, one not running, it stopped
//
// Flow control: a sender may have at most the credit granted for a stream in flight, counting `data`,
// `stdin`, `stdout` and `stderr` chunk bytes; the receiver grants more with `credit` as its reader
// consumes. A slow reader stalls only its own stream, and memory per stream stays bounded.
//
// ## Rules for changing this file
//
// A frame type, field or limit added, or a rule tightened, is a capability bump: a dated line below.
// Decoding is strict (unknown fields are refused), so a side only sends what the peer's capability (from
// challenge / hello) admits. PROTOCOL_MAGIC changes only for a redesign no older peer can speak.

import type { ConnectionId, HostId, KeyId } from "./keys.ts";
import type { ActionResult, InstanceStatus, VmDriverName, VmStatus, Workload } from "./workloads.ts";

// ## Version

/** Protocol capability this code speaks. History (bump on every wire change, newest last):
 *
 *   1 (2026-11-21): initial: challenge/hello, heartbeat, exec, streams
 *   2 (2026-11-22): hello and ready carry `kx` (ephemeral X25519); with both, data / stdin / stdout /
 *                   stderr travel in COSE_Mac0 under per-direction HMAC-SHA256 data keys (data-key.ts)
 *                   instead of an ed25519 signature each. Capability 1 peers are still served, signed.
 *   3 (2026-11-22): `config` has a layout (services and mesh listeners) and is decoded as strictly as
 *                   every other frame: a malformed one is refused whole (4400), never applied in part.
 *                   Control planes have always sent that layout, so older ones are still served.
 *   4 (2026-12-01): hello's facts may carry `exec` (the owner's exec policy, which the agent enforces),
 *                   sent only to a control plane whose challenge said cap ≥ 4 (older ones refuse an
 *                   unknown field). Tightened: the facts' text, error messages and close reasons
 *                   refuse control characters (control-characters.ts; 4400), so that a hostile agent
 *                   cannot reach an operator's terminal through them. Older peers are still served.
 *   5 (2026-12-02): `report`, agent → cp: the agent's effective view (every service definition with its
 *                   source, which one wins and whether the policy allows its target; each mesh
 *                   listener's state), after each config it applied, sent only to a control plane
 *                   whose challenge said cap ≥ 5. Decoded strictly and bounded; its text refuses
 *                   control characters. A control plane of cap < 5 never receives one.
 *   6 (2026-12-02): workloads (workloads.ts): `workloads` cp → agent carries the host's whole desired
 *                   set of apps (VMs later), `workload.status` agent → cp what the agent observes per
 *                   instance, and the `logs.open` stream reads an app's captured output. Each side
 *                   sends them only to a peer whose cap is ≥ 6.
 *   7 (2026-12-02): queued jobs: `job` and `job.cancel` (cp → agent), `job.result` (agent → cp). The
 *                   control plane sends them only to agents whose hello said cap ≥ 7, and the agent
 *                   sends job.result only in answer to a job. Older peers are still served.
 *   8 (2026-12-02): `pty.open` (a process on a pseudo-terminal, the login shell when argv is absent)
 *                   and `resize`; output comes back as stdout, input goes as stdin, the end as exit.
 *                   Sent only to an agent whose hello said cap ≥ 8 (older ones would refuse it).
 *   9 (2026-12-02): microVMs as workloads: the "vm" spec kind (workloads.ts VmSpec), a workload
 *                   action's optional `arg` (a snapshot's name), workload.status `vm` (the VM's state,
 *                   ports and snapshots) and hello's facts `drivers` (the hypervisors the host offers).
 *                   A control plane sends vm workloads only to agents whose hello said cap ≥ 9; the
 *                   agent sends `vm` and `drivers` only to a control plane whose challenge said cap ≥ 9.
 *  10 (2026-12-02): `console.open` (a VM's serial console: live, writable by one stream at a time or
 *                   read-only, or its bounded history, followed or not) and its answer `console.opened`
 *                   (the mode granted). Sent only to an agent whose hello said cap ≥ 10.
 */
export const PROTOCOL_CAPABILITY = 10;

/** The first capability that speaks microVM workloads (workloads.ts VmSpec). */
export const VMS_CAPABILITY = 9;

/** The first capability that speaks workloads (workloads.ts). */
export const WORKLOADS_CAPABILITY = 6;

/** Oldest peer capability this code still accepts; older peers are closed with 4426. */
export const MIN_PEER_CAPABILITY = 1;

/** Domain separator in every signature (envelope.ts): a different protocol's signatures never verify. */
export const PROTOCOL_MAGIC = "outpost/1";

/** Which way a message travels. Part of every signature, so frames cannot be reflected. */
export type Direction = "cp>agent" | "agent>cp";

export const DIRECTIONS: readonly Direction[] = ["cp>agent", "agent>cp"];

// ## Handshake

/**
 * challenge — cp → agent, the first message on every connection.
 *
 *   { t: "challenge", seq: uint, nonce: bstr .size 32, time: uint,   ; ms since the Unix epoch
 *     conn: tstr,         ; ConnectionId, "conn_…"; also bound into every signature
 *     kid: bstr .size 16, ; key id of the control plane key that signs this connection
 *     cap: uint }         ; the control plane's PROTOCOL_CAPABILITY
 */
export interface ChallengeFrame {
  t: "challenge";
  seq: number;
  nonce: Uint8Array;
  time: number;
  conn: ConnectionId;
  kid: KeyId;
  cap: number;
}

/**
 * hello — agent → cp, the answer to challenge; nothing else is accepted before it.
 *
 *   { t: "hello", seq: uint, host: tstr,   ; HostId, "host_…"
 *     nonce: bstr .size 32,                ; the challenge's nonce, echoed
 *     version: tstr, cap: uint,            ; agent version ("0.1.0") and PROTOCOL_CAPABILITY
 *     facts: { hostname: tstr, os: tstr, ? kernel: tstr, arch: tstr, cpus: uint,
 *              memory: uint, ? disk: uint, ? uptime: uint,   ; bytes, bytes, seconds
 *              runtime: tstr, runtimeVersion: tstr,          ; "bun" / "deno" and its version
 *              ? exec: { mode: "any" / "off" / "allowlist",  ; cap 4, only to a cp with cap ≥ 4
 *                        ? allow: [* [+ tstr]] },            ; argv prefixes, when an allowlist
 *              ? drivers: [* { name: "qemu" / "firecracker" / "cloud-hypervisor",   ; cap 9
 *                              available: bool, ? accel: "kvm" / "tcg",
 *                              ? version: tstr, ? reason: tstr }] },
 *     ? kx: bstr .size 32 }   ; cap 2: the agent's ephemeral X25519 public key (data-key.ts), sent
 *                             ; only to a control plane whose challenge said cap ≥ 2
 */
export interface HelloFrame {
  t: "hello";
  seq: number;
  host: HostId;
  nonce: Uint8Array;
  version: string;
  cap: number;
  facts: HostFacts;
  kx?: Uint8Array;
}

export interface HostFacts {
  hostname: string;
  /** `process.platform` style: "linux", "darwin", … */
  os: string;
  kernel?: string;
  /** "x64", "arm64", … */
  arch: string;
  cpus: number;
  /** Total memory in bytes. */
  memory: number;
  /** Size of the agent's state volume in bytes. */
  disk?: number;
  /** Seconds since boot. */
  uptime?: number;
  /** "bun" or "deno". */
  runtime: string;
  runtimeVersion: string;
  /** Capability 4: what exec the host's owner allows (absent from older agents: unknown, not "any"). */
  exec?: ExecFacts;
  /** Capability 9: the microVM drivers this host has, available or not (agent/vm/driver.ts). */
  drivers?: DriverFacts[];
}

/** One hypervisor driver as the agent probed it: whether it can run VMs here, and how. */
export interface DriverFacts {
  name: VmDriverName;
  available: boolean;
  accel?: "kvm" | "tcg";
  version?: string;
  /** Why it is unavailable. */
  reason?: string;
}

/**
 * The agent's exec policy, set by its owner (`--no-exec`, `--exec-allow`) and enforced by the agent on
 * every exec.open. "any": every argv; "off": none; "allowlist": argv that starts with one of `allow`,
 * item by item, the program compared exactly (MAX_EXEC_ALLOW_ENTRIES of MAX_EXEC_PREFIX_ITEMS).
 */
export interface ExecFacts {
  mode: "any" | "off" | "allowlist";
  allow?: string[][];
}

/**
 * ready — cp → agent, the hello was accepted; streams may open from now on.
 *
 *   { t: "ready", seq: uint, heartbeat: uint,   ; ping interval in ms, 1000..600000
 *     ? kx: bstr .size 32 }   ; cap 2: the control plane's ephemeral X25519 public key, only in
 *                             ; answer to a hello with kx; both sides then derive the data keys
 */
export interface ReadyFrame {
  t: "ready";
  seq: number;
  heartbeat: number;
  kx?: Uint8Array;
}

// ## Liveness and errors

/**
 * ping / pong — either way; pong echoes the ping's time, so the pinger learns the round trip.
 *
 *   { t: "ping", seq: uint, time: uint }   ; ms since the Unix epoch, sender's clock
 *   { t: "pong", seq: uint, time: uint }   ; the ping's time
 */
export interface PingFrame {
  t: "ping";
  seq: number;
  time: number;
}

export interface PongFrame {
  t: "pong";
  seq: number;
  time: number;
}

/**
 * error — either way; a failure the sender reports without closing the connection (the stream's, when
 * `sid` is set).
 *
 *   { t: "error", seq: uint, code: tstr,   ; machine-readable, [a-z][a-z0-9_.]*, ≤ 64
 *     message: tstr, ? sid: uint }         ; one line for humans, ≤ 1024, no control characters
 */
export interface ErrorFrame {
  t: "error";
  seq: number;
  code: string;
  message: string;
  sid?: number;
}

/**
 * config — cp → agent, all of the host's services and mesh routes, after ready and whenever they
 * change. It replaces the last one whole, so it is taken whole or, malformed, not at all.
 *
 *   { t: "config", seq: uint, config: {
 *       services: [* { name: tstr,      ; a service name, as tcp.open's target; no two alike
 *                      target: tstr }], ; address:port text, 1..MAX_TARGET_TEXT; the agent's policy
 *                                       ; decides what it may reach
 *       listeners: [* { route: tstr,    ; the mesh route's id, as tcp.open's target; no two alike
 *                       listen: tstr,   ; 127.x.x.x:port or [::1]:port; no two alike
 *                       to: tstr }] } } ; where the route leads, "<host>.<cluster>:<service>", for logs
 *
 * Each list holds at most MAX_CONFIG_ENTRIES.
 */
export interface ConfigFrame {
  t: "config";
  seq: number;
  config: HostConfig;
}

export interface HostConfig {
  services: ConfigService[];
  /** The mesh routes that start on this host: the agent listens for each. */
  listeners: ConfigListener[];
}

export interface ConfigService {
  name: string;
  target: string;
}

export interface ConfigListener {
  route: string;
  listen: string;
  to: string;
}

/**
 * report — agent → cp (cap 5), what the agent actually uses, after each config it applied. It replaces
 * the last one whole.
 *
 *   { t: "report", seq: uint, report: {
 *       services: [* { name: tstr,            ; a service name
 *                      source: "agent" / "cp", ; the agent's own flags or config file / the API
 *                      target: tstr,          ; as defined, 1..MAX_TARGET_TEXT
 *                      wins: bool,            ; the definition a tcp.open of this name uses
 *                      allowed: bool,         ; whether the agent's policy lets it reach the target
 *                      ? reason: tstr }],     ; why not, or what decides later; ≤ MAX_REPORT_TEXT
 *       listeners: [* { route: tstr, listen: tstr,
 *                       state: "listening" / "failed",
 *                       ? error: tstr }] } }  ; why it is not listening; ≤ MAX_REPORT_TEXT
 *
 * No two services share name and source, no two listeners a route; each list holds at most
 * MAX_REPORT_ENTRIES. Every text is one line without control characters: it is shown to operators.
 */
export interface ReportFrame {
  t: "report";
  seq: number;
  report: HostReport;
}

export interface HostReport {
  services: ReportedService[];
  listeners: ReportedListener[];
}

export interface ReportedService {
  name: string;
  source: "agent" | "cp";
  target: string;
  wins: boolean;
  allowed: boolean;
  reason?: string;
}

export interface ReportedListener {
  route: string;
  listen: string;
  state: "listening" | "failed";
  error?: string;
}

// ## Workloads (cap 6)

/**
 * workloads — cp → agent, every workload the host should hold (workloads.ts has the layout), after
 * ready and whenever one changes. It replaces the last one whole: a workload not listed is one the
 * agent has no orders for (it keeps running what it runs; `desired: "absent"` removes).
 *
 *   { t: "workloads", seq: uint, workloads: [* Workload] }   ; at most MAX_WORKLOADS
 */
export interface WorkloadsFrame {
  t: "workloads";
  seq: number;
  workloads: Workload[];
}

/**
 * workload.status — agent → cp, what the agent observes of one workload, whenever it changes.
 *
 *   { t: "workload.status", seq: uint, id: tstr,   ; the workload's id
 *     generation: uint,                            ; the desired generation the agent has acted on
 *     ? live: uint,                                ; the release that serves (the host service)
 *     instances: [* Instance],                     ; workloads.ts
 *     ? message: tstr,                             ; one line: what went wrong, or what happens now
 *     actions: [* { id: tstr, ok: bool, ? message: tstr }],   ; actions applied since the last
 *     ? vm: VmStatus }                             ; cap 9: a VM's state, ports, snapshots
 */
export interface WorkloadStatusFrame {
  t: "workload.status";
  seq: number;
  id: string;
  generation: number;
  live?: number;
  instances: InstanceStatus[];
  message?: string;
  actions: ActionResult[];
  /** Capability 9: a VM's own view (workloads.ts). */
  vm?: VmStatus;
}

/**
 * logs.open — cp → agent, stream an app's captured stdout/stderr (odd sid): the last `lines` lines
 * (since `since`, ms since the epoch, when set), then, when `follow`, new output as it comes.
 *
 *   { t: "logs.open", seq: uint, sid: uint, name: tstr, lines: uint .le 100000, follow: bool,
 *     ? since: uint, credit: uint }
 */
export interface LogsOpenFrame {
  t: "logs.open";
  seq: number;
  sid: number;
  name: string;
  lines: number;
  follow: boolean;
  since?: number;
  credit: number;
}

// ## Exec streams

/**
 * exec.open — cp → agent, run a process (odd sid). No shell: argv[0] is looked up on PATH.
 *
 *   { t: "exec.open", seq: uint, sid: uint,   ; 1..2^32-1, odd
 *     argv: [+ tstr],                          ; 1..4096 items, no U+0000
 *     ? cwd: tstr, ? env: { * tstr => tstr },  ; env adds to / overrides the agent's environment
 *     ? timeout: uint,                         ; ms, 1..2^31-1 (the largest setTimeout delay)
 *     credit: uint }                           ; stdout+stderr bytes the agent may send
 */
export interface ExecOpenFrame {
  t: "exec.open";
  seq: number;
  sid: number;
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  timeout?: number;
  credit: number;
}

/**
 * stdin — cp → agent, bytes for the process's stdin; eof closes it after them.
 *
 *   { t: "stdin", seq: uint, sid: uint, data: bstr .size (0..262144), ? eof: bool }
 */
export interface StdinFrame {
  t: "stdin";
  seq: number;
  sid: number;
  data: Uint8Array;
  eof?: boolean;
}

/**
 * stdout / stderr — agent → cp, output of the process, within the credit granted.
 *
 *   { t: "stdout", seq: uint, sid: uint, data: bstr .size (0..262144) }
 *   { t: "stderr", seq: uint, sid: uint, data: bstr .size (0..262144) }
 */
export interface StdoutFrame {
  t: "stdout";
  seq: number;
  sid: number;
  data: Uint8Array;
}

export interface StderrFrame {
  t: "stderr";
  seq: number;
  sid: number;
  data: Uint8Array;
}

/**
 * exit — agent → cp, the process ended; the stream is over. code is null when a signal killed it.
 *
 *   { t: "exit", seq: uint, sid: uint, code: uint .le 255 / null, ? signal: tstr }   ; "SIGKILL"
 */
export interface ExitFrame {
  t: "exit";
  seq: number;
  sid: number;
  code: number | null;
  signal?: string;
}

/**
 * signal — cp → agent, deliver a signal to the process.
 *
 *   { t: "signal", seq: uint, sid: uint, name: tstr }   ; "SIGTERM", "SIGINT", "SIGRTMIN+1", …
 */
export interface SignalFrame {
  t: "signal";
  seq: number;
  sid: number;
  name: string;
}

// ## PTY streams

/**
 * pty.open — cp → agent (cap 8), run a process on a new pseudo-terminal (odd sid). Without argv the
 * agent runs its user's login shell; the owner's exec policy applies to the argv it runs either way.
 * The terminal's output is stdout (there is no stderr), its input stdin; it ends with exit.
 *
 *   { t: "pty.open", seq: uint, sid: uint, ? argv: [+ tstr], ? cwd: tstr, ? env: { * tstr => tstr },
 *     cols: uint, rows: uint,   ; 1..MAX_PTY_COLS, 1..MAX_PTY_ROWS
 *     ? term: tstr,             ; TERM, [A-Za-z0-9._+-]{1,64}; "xterm-256color" when absent
 *     credit: uint }            ; output bytes the agent may send
 */
export interface PtyOpenFrame {
  t: "pty.open";
  seq: number;
  sid: number;
  argv?: string[];
  cwd?: string;
  env?: Record<string, string>;
  cols: number;
  rows: number;
  term?: string;
  credit: number;
}

/**
 * resize — cp → agent (cap 8), the client's terminal changed size: the pty takes it (SIGWINCH).
 *
 *   { t: "resize", seq: uint, sid: uint, cols: uint, rows: uint }
 */
export interface ResizeFrame {
  t: "resize";
  seq: number;
  sid: number;
  cols: number;
  rows: number;
}

// ## VM consoles (capability 10)

/** How a console stream reads: live and writable, live and read-only, or the history file. */
export const CONSOLE_MODES = ["write", "read", "history"] as const;
export type ConsoleMode = (typeof CONSOLE_MODES)[number];

/**
 * console.open — cp → agent (cap 10), the serial console of the VM named `vm` (odd sid). `write`: live
 * output, and input from this stream when no other stream holds the writer's seat (read-only
 * otherwise, which console.opened says); `read`: live output only; `history`: the console's history
 * (a size-bounded file the agent keeps per VM), its last `lines` lines, then, when `follow`, live
 * output. Live modes send the last `lines` lines of history first, too.
 *
 *   { t: "console.open", seq: uint, sid: uint,
 *     vm: tstr,                       ; a VM name, a DNS label (names.ts NAME_PATTERN)
 *     mode: "write" / "read" / "history",
 *     lines: uint .le 100000, follow: bool,   ; follow: history only (live modes always follow)
 *     credit: uint }                  ; output bytes the agent may send
 */
export interface ConsoleOpenFrame {
  t: "console.open";
  seq: number;
  sid: number;
  vm: string;
  mode: ConsoleMode;
  lines: number;
  follow: boolean;
  credit: number;
}

/**
 * console.opened — agent → cp (cap 10), a live console is attached: `mode` is what it got (`read`
 * when it asked to write and another stream writes; `reason` says so). A writer is granted stdin
 * credit with `credit` frames after this one; a reader never is, unless the writer detaches: then the
 * oldest stream that asked to write (and got `read`) is sent a second console.opened, `write`, and
 * its stdin credit (one that asked for `read` stays read-only).
 *
 *   { t: "console.opened", seq: uint, sid: uint, mode: "write" / "read",
 *     ? reason: tstr }   ; ≤ 1024, no control characters
 */
export interface ConsoleOpenedFrame {
  t: "console.opened";
  seq: number;
  sid: number;
  mode: "write" | "read";
  reason?: string;
}

// ## Flow control and byte streams

/**
 * credit — either way, the receiver of a stream's bytes lets the sender send `bytes` more.
 *
 *   { t: "credit", seq: uint, sid: uint, bytes: uint }   ; 1..2^32-1
 */
export interface CreditFrame {
  t: "credit";
  seq: number;
  sid: number;
  bytes: number;
}

/**
 * tcp.open — either way, connect a byte stream to a TCP port on the receiver's host or to a service
 * it knows by name (sid odd from the cp, even from the agent).
 *
 *   { t: "tcp.open", seq: uint, sid: uint,
 *     target: uint / tstr,   ; port 1..65535 on localhost, or a service name [a-z0-9][a-z0-9._-]{0,62}
 *     credit: uint }         ; bytes the receiver may send back before more credit
 */
export interface TcpOpenFrame {
  t: "tcp.open";
  seq: number;
  sid: number;
  target: number | string;
  credit: number;
}

/**
 * tcp.opened — either way, the answer to tcp.open when the connection is up (a failure is `close`).
 *
 *   { t: "tcp.opened", seq: uint, sid: uint, credit: uint }   ; bytes the opener may send
 */
export interface TcpOpenedFrame {
  t: "tcp.opened";
  seq: number;
  sid: number;
  credit: number;
}

/**
 * data — either way, bytes on a tcp stream, within the credit granted.
 *
 *   { t: "data", seq: uint, sid: uint, data: bstr .size (0..262144) }
 */
export interface DataFrame {
  t: "data";
  seq: number;
  sid: number;
  data: Uint8Array;
}

/**
 * fin — either way, the sender will send no more data on this stream (half close, like TCP FIN).
 *
 *   { t: "fin", seq: uint, sid: uint }
 */
export interface FinFrame {
  t: "fin";
  seq: number;
  sid: number;
}

/**
 * close — either way, the stream is over at once in both directions (or could not be opened).
 *
 *   { t: "close", seq: uint, sid: uint, ? reason: tstr }   ; ≤ 1024, no control characters
 */
export interface CloseFrame {
  t: "close";
  seq: number;
  sid: number;
  reason?: string;
}

// ## Jobs (capability 7)

/**
 * job — cp → agent: run `steps` in order, stopping at the first that fails, unless this host already
 * ran this job id (the agent's action ledger); never after `expires`.
 *
 *   { t: "job", seq: uint, job: tstr,      ; "job_…"
 *     steps: [+ [+ tstr]],                 ; argv of each step, no shell
 *     expires: uint,                       ; ms since the Unix epoch
 *     ? timeout: uint }                    ; ms, each step's limit
 */
export interface JobFrame {
  t: "job";
  seq: number;
  job: string;
  steps: string[][];
  expires: number;
  timeout?: number;
}

/** job.cancel — cp → agent: signal the job's running step (SIGTERM); its later steps never start. */
export interface JobCancelFrame {
  t: "job.cancel";
  seq: number;
  job: string;
}

/**
 * job.result — agent → cp: `running` once claimed, then the final state with the last step's exit,
 * the whole job's duration and the last JOB_OUTPUT_TAIL bytes of each stream.
 *
 *   { t: "job.result", seq: uint, job: tstr,
 *     state: "running" / "succeeded" / "failed" / "cancelled" / "interrupted",
 *     ? step: uint, ? code: uint / null, ? signal: tstr, ? message: tstr,
 *     ? durationMs: uint, ? stdout: bstr, ? stderr: bstr }
 */
export interface JobResultFrame {
  t: "job.result";
  seq: number;
  job: string;
  state: JobState;
  step?: number;
  code?: number | null;
  signal?: string;
  message?: string;
  durationMs?: number;
  stdout?: Uint8Array;
  stderr?: Uint8Array;
}

export const JOB_STATES = ["running", "succeeded", "failed", "cancelled", "interrupted"] as const;
export type JobState = (typeof JOB_STATES)[number];

// ## Unions

/** Every frame type, sent by either side. */
export type Frame = ControlPlaneFrame | AgentFrame;

/** Frames both sides send. */
export type SharedFrame =
  | PingFrame
  | PongFrame
  | ErrorFrame
  | CreditFrame
  | TcpOpenFrame
  | TcpOpenedFrame
  | DataFrame
  | FinFrame
  | CloseFrame;

/** Frames the control plane sends (direction "cp>agent"). */
export type ControlPlaneFrame =
  | ChallengeFrame
  | ReadyFrame
  | ConfigFrame
  | WorkloadsFrame
  | LogsOpenFrame
  | ExecOpenFrame
  | PtyOpenFrame
  | ResizeFrame
  | ConsoleOpenFrame
  | StdinFrame
  | SignalFrame
  | JobFrame
  | JobCancelFrame
  | SharedFrame;

/** Frames the agent sends (direction "agent>cp"). */
export type AgentFrame =
  | HelloFrame
  | ReportFrame
  | StdoutFrame
  | StderrFrame
  | ExitFrame
  | ConsoleOpenedFrame
  | WorkloadStatusFrame
  | JobResultFrame
  | SharedFrame;

/** The frames that may travel in `direction`. */
export type FrameFrom<D extends Direction> = D extends "cp>agent" ? ControlPlaneFrame : AgentFrame;

export type FrameType = Frame["t"];

export type FrameOf<T extends FrameType> = Extract<Frame, { t: T }>;

/**
 * A frame before its sender numbers it (`seq` is the channel's job, channel.ts): what the HostDO and
 * the agent build and hand to their FrameChannel. Distributes over a union, so
 * `Unsequenced<AgentFrame>` is still a union narrowed by `t`, which `Omit<AgentFrame, "seq">` is not.
 */
export type Unsequenced<F extends { seq: number } = Frame> = F extends unknown ? Omit<F, "seq"> : never;
