// # Workloads on the wire
//
// A workload is something the control plane wants running on a host: an app release (agent/apps/) or,
// in the microVM issue, a VM (agent/vm/). libSQL holds the desired state; the HostDO sends a host its
// whole desired set in one `workloads` frame (after ready, and whenever it changes), and the agent
// reconciles: it starts what should run, stops what should not and re-adopts what already runs. The
// agent reports what it observes, per workload, in `workload.status` frames.
//
//   Workload = {
//     id: tstr,                  ; "wl_…", stable for the life of (tenant, host, kind, name)
//     tenant: tstr,              ; "ten_…", the owner: sealed env is bound to it (schema/secrets)
//     kind: "app" / "vm",
//     name: tstr,                ; SERVICE_NAME_PATTERN: an app is also the host service of that name
//     generation: uint,          ; goes up on every change of this workload's desired state
//     desired: "running" / "stopped" / "absent",
//     spec: { kind: "app", … },  ; kind-specific, decoded strictly by the codec of `spec.kind`
//     artifact: { sha256: bstr .size 32, size: uint, ? token: tstr },
//                                ; token: the fetch credential, when artifact fetch uses one
//     env: [* bstr],             ; sealed env entries (schema/secrets/sealed-env.ts), opaque here:
//                                ; the agent decodes each strictly before it opens them
//     actions: [* { id: tstr, op: tstr, ? arg: tstr }] }   ; one-shot operations ("restart",
//                                ; "snapshot" with arg the snapshot's name); the agent applies each id
//                                ; at most once (agent/action-ledger.ts), so redelivery after a
//                                ; reconnect is harmless. `arg` is cap 9.
//
// Adding a kind is one spec codec in SPEC_CODECS below and its interface in WorkloadSpec: a capability
// bump of its own, since older agents refuse the unknown spec kind. "vm" came with capability 9:
//
//   VmSpec = { kind: "vm", image: tstr,       ; the image's name (for messages; the bytes are `artifact`)
//     cmdline: tstr, cpus: uint, memory: uint, ; kernel command line; vCPUs; MiB
//     disk: uint,                            ; MiB of the VM's own disk (0: the image's rootfs size)
//     ports: [* uint],                       ; guest TCP ports: each is the host service <vm>-<port>
//     ? userData: bstr,                      ; NoCloud user-data, at most MAX_USER_DATA bytes
//     ? driver: "qemu" / "firecracker" / "cloud-hypervisor",   ; absent: the host's first available
//     stopTimeout: uint }                    ; ms between the graceful stop and the kill
//
// and a VM's workload.status carries `vm` (VmStatus below): its state as Fly Machines name them.

import { NAME_PATTERN, SERVICE_NAME_PATTERN, USER_PATTERN } from "../names.ts";
import {
  _array,
  _bool,
  _bytes,
  type _Field,
  _FieldError,
  _nullable,
  _oneOf,
  _optional,
  _struct,
  _text,
  _textRecord,
  _uint,
  _uniqueBy,
} from "./_fields.ts";
import type { CborMap } from "./cbor-value.ts";

// ## Limits

/** Most workloads one host may be asked to run (one frame holds them all, within MAX_MESSAGE_BYTES). */
export const MAX_WORKLOADS = 64;
/** Most sealed env entries per workload, and the largest one in bytes. */
export const MAX_ENV_ENTRIES = 128;
const MAX_SEALED_ENTRY_BYTES = 4096;
/** Most pending one-shot actions per workload. */
const MAX_ACTIONS = 16;
/** Largest NoCloud user-data a VM may be given (it travels in every workloads frame). */
export const MAX_USER_DATA = 16 * 1024;
/** Most guest ports one VM forwards, and most snapshots one VM reports. */
export const MAX_VM_PORTS = 16;
const MAX_SNAPSHOTS = 32;
/** Most vCPUs and MiB of memory a VM may ask for (the host's facts bound it further). */
export const MAX_VM_CPUS = 64;
export const MAX_VM_MEMORY_MIB = 1 << 20;
/** Largest VM disk in MiB (1 TiB). */
export const MAX_VM_DISK_MIB = 1 << 20;
/** Longest health-check output an agent reports (the tail of it). */
export const MAX_HEALTH_OUTPUT = 1024;
/** Most instances (releases) a status reports: the live one, the one being started, the draining one. */
const MAX_INSTANCES = 8;
/** Longest argv item and most argv items in a spec's commands. */
const MAX_ARG = 4096;
const MAX_ARGS = 256;

// ## Types

export type WorkloadKind = "app" | "vm";
export type DesiredState = "running" | "stopped" | "absent";

/** How an app's health is checked: one of http (a path on its PORT), tcp (its PORT accepts) or cmd. */
export interface HealthCheck {
  http?: string;
  tcp?: boolean;
  cmd?: string[];
  /** Milliseconds between checks, how long one may take, and how long a new release has to pass one. */
  interval: number;
  timeout: number;
  grace: number;
}

/** An app release as the agent runs it: outpost.toml (schema/apps/spec.ts) after validation. */
export interface AppRunSpec {
  kind: "app";
  /** The release number, 1, 2, …: the directory `<state>/apps/<app>/releases/<n>/`. */
  release: number;
  cmd: string[];
  /** Plain (non-secret) env from the spec. */
  env: Record<string, string>;
  health?: HealthCheck;
  restart: "always" | "on-failure" | "never";
  stopSignal: string;
  /** Milliseconds between stop_signal and SIGKILL. */
  stopTimeout: number;
  /** Run once in the new release's directory before the swap (migrations). */
  hook?: string[];
  /** A stable host-local address the agent serves and proxies to the live release. */
  listen?: string;
  /** Releases kept on disk. */
  keep: number;
  /** Run as this user (only when the agent runs as root). */
  user?: string;
  /** Run as a container image (podman / docker) instead of a process. */
  image?: string;
  /** Milliseconds after going live within which a failure reverts to `revertTo`. */
  revertWindow: number;
  /** The release to go back to if this one fails within revertWindow (the last healthy one). */
  revertTo?: number;
}

/** The hypervisors an agent may drive (agent/vm/). */
export const VM_DRIVERS = ["qemu", "firecracker", "cloud-hypervisor"] as const;
export type VmDriverName = (typeof VM_DRIVERS)[number];

/** A microVM as the agent runs it (capability 9). */
export interface VmRunSpec {
  kind: "vm";
  /** The image's name, for messages: the bytes are the workload's artifact. */
  image: string;
  cmdline: string;
  cpus: number;
  /** MiB. */
  memory: number;
  /** MiB of the VM's own disk; 0: as large as the image's rootfs. */
  disk: number;
  /** Guest TCP ports, each forwarded from host loopback and served as the host service `<vm>-<port>`. */
  ports: number[];
  userData?: Uint8Array;
  driver?: VmDriverName;
  /** Milliseconds between the graceful stop (Ctrl-Alt-Del / ACPI) and the kill. */
  stopTimeout: number;
}

export type WorkloadSpec = AppRunSpec | VmRunSpec;

/** A VM's states, as Fly Machines name them, plus paused (`vm pause`). */
export const VM_STATES = [
  "created",
  "starting",
  "started",
  "paused",
  "stopping",
  "stopped",
  "failed",
  "destroyed",
] as const;
export type VmState = (typeof VM_STATES)[number];

/** What the agent sees of one VM (workload.status `vm`, capability 9). */
export interface VmStatus {
  state: VmState;
  /** The driver that runs (or last ran) it. */
  driver?: VmDriverName;
  /** The hypervisor process. */
  pid?: number;
  /** Each guest port and the host loopback port that reaches it (user-mode networking). */
  ports: { guest: number; host: number }[];
  /** The guest's IPv4 address on the agent's --vm-bridge, when it has one (its ports reach it there). */
  address?: string;
  /** Its snapshots, oldest first; `at` in ms since the epoch. */
  snapshots: { name: string; at: number }[];
  /** ms since the epoch when the VM entered `state`. */
  since: number;
}

export interface ArtifactRef {
  sha256: Uint8Array;
  size: number;
  token?: string;
}

export interface WorkloadAction {
  id: string;
  op: string;
  /** Capability 9: the operation's argument (a snapshot's name). */
  arg?: string;
}

/** A workload; `Workload<AppRunSpec>` is one whose spec the codec checked to be an app's. */
export interface Workload<S extends WorkloadSpec = WorkloadSpec> {
  id: string;
  tenant: string;
  kind: WorkloadKind;
  name: string;
  generation: number;
  desired: DesiredState;
  spec: S;
  artifact: ArtifactRef;
  env: Uint8Array[];
  actions: WorkloadAction[];
}

export type InstanceState = "starting" | "healthy" | "unhealthy" | "stopping" | "stopped" | "failed";

export const INSTANCE_STATES: readonly InstanceState[] = [
  "starting",
  "healthy",
  "unhealthy",
  "stopping",
  "stopped",
  "failed",
];

/** One release of a workload as the agent sees it. */
export interface InstanceStatus {
  release: number;
  state: InstanceState;
  pid?: number;
  port?: number;
  restarts: number;
  /** The last exit: code (null when by signal) and signal. */
  exit?: { code: number | null; signal?: string };
  /** The tail of the last health check's output, or why it failed. */
  health?: string;
  /** ms since the epoch when the instance entered `state`. */
  since: number;
}

export interface ActionResult {
  id: string;
  ok: boolean;
  message?: string;
}

// ## Codecs

const ID = _text({ pattern: [/^wl_[0-9a-z]{16}$/, "a workload id (wl_…)"], max: 19 });
const NAME = _text({ pattern: [SERVICE_NAME_PATTERN, "a workload name like shop"], max: 63 });
const ARGV = _array(_text({ min: 1, max: MAX_ARG, noNul: true }), 1, MAX_ARGS);
const MS = _uint(0, 0x7fffffff);
const SIGNAL = _text({ pattern: [/^SIG[A-Z0-9+-]{2,16}$/, "a signal name like SIGTERM"], max: 19 });
/** Text an agent reports for people: one line, no control characters (control-characters.ts). */
const shown = (max: number) => _text({ max, display: true, cut: true });

const HEALTH = _struct<HealthCheck>({
  http: _optional(_text({ pattern: [/^\/[\x21-\x7e]{0,1023}$/, "a path like /healthz"], max: 1024 })),
  tcp: _optional(_bool),
  cmd: _optional(ARGV),
  interval: _uint(100, 3_600_000),
  timeout: _uint(100, 3_600_000),
  grace: _uint(0, 3_600_000),
});

const APP_SPEC = _struct<AppRunSpec>({
  kind: _oneOf(["app"]),
  release: _uint(1, 0x7fffffff),
  cmd: ARGV,
  env: _textRecord(
    _text({ pattern: [/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "an env variable name like PORT"], max: 128 }),
    _text({ max: 65536, noNul: true }),
    MAX_ENV_ENTRIES,
  ),
  health: _optional(HEALTH),
  restart: _oneOf(["always", "on-failure", "never"]),
  stopSignal: SIGNAL,
  stopTimeout: MS,
  hook: _optional(ARGV),
  listen: _optional(
    _text({
      pattern: [
        /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]):[1-9]\d{0,4}$/,
        "an address like 127.0.0.1:8080",
      ],
      max: 64,
    }),
  ),
  keep: _uint(1, 100),
  user: _optional(_text({ pattern: [USER_PATTERN, "a user name like www-data or a numeric uid"], max: 32 })),
  // As in schema/apps/spec.ts: a leading letter or digit, never a podman flag.
  image: _optional(
    _text({ pattern: [/^[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}$/, "an image reference"], max: 255 }),
  ),
  revertWindow: MS,
  revertTo: _optional(_uint(1, 0x7fffffff)),
});

/** A snapshot's name: nothing a monitor could read as an option or a path (agent/vm/process.ts). */
export const SNAPSHOT_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const SNAPSHOT_NAME = _text({ pattern: [SNAPSHOT_NAME_PATTERN, "a snapshot name like s1"], max: 63 });
const PORT = _uint(1, 65535);

const VM_SPEC = _struct<VmRunSpec>({
  kind: _oneOf(["vm"]),
  image: _text({ pattern: [NAME_PATTERN, "an image name like tiny"], max: 63 }),
  cmdline: _text({ max: 2048, noNul: true, display: true }),
  cpus: _uint(1, MAX_VM_CPUS),
  memory: _uint(16, MAX_VM_MEMORY_MIB),
  disk: _uint(0, MAX_VM_DISK_MIB),
  ports: _array(PORT, 0, MAX_VM_PORTS),
  userData: _optional(_bytes(1, MAX_USER_DATA)),
  driver: _optional(_oneOf(VM_DRIVERS)),
  stopTimeout: MS,
});

/** The spec codec of each kind. */
const SPEC_CODECS: { [K in WorkloadSpec["kind"]]: _Field<Extract<WorkloadSpec, { kind: K }>> } = {
  app: APP_SPEC,
  vm: VM_SPEC,
};

/** A spec read by the codec its own `kind` names: an unknown kind is refused, not skipped. */
const SPEC: _Field<WorkloadSpec> = {
  optional: false,
  read(value, at) {
    const kind = value instanceof Map ? (value as CborMap).get("kind") : undefined;
    if (typeof kind !== "string" || !Object.hasOwn(SPEC_CODECS, kind)) {
      throw new _FieldError(`field ${at}.kind must be one of ${Object.keys(SPEC_CODECS).join(", ")}`);
    }
    return SPEC_CODECS[kind as WorkloadSpec["kind"]].read(value, at);
  },
  write: (value) => (SPEC_CODECS[value.kind] as _Field<WorkloadSpec>).write(value),
};

const ARTIFACT = _struct<ArtifactRef>({
  sha256: _bytes(32, 32),
  size: _uint(0, Number.MAX_SAFE_INTEGER),
  token: _optional(_text({ pattern: [/^[\x21-\x7e]{1,512}$/, "a fetch token"], max: 512 })),
});

const ACTION_ID = _text({ pattern: [/^act_[0-9a-z]{16}$/, "an action id (act_…)"], max: 20 });

const ACTION = _struct<WorkloadAction>({
  id: ACTION_ID,
  op: _text({ pattern: [/^[a-z][a-z0-9_.]{0,31}$/, "an operation like restart"], max: 32 }),
  arg: _optional(SNAPSHOT_NAME),
});

const WORKLOAD_FIELDS = {
  id: ID,
  tenant: _text({ pattern: [/^ten_[0-9a-z]{16}$/, "a tenant id (ten_…)"], max: 20 }),
  kind: _oneOf<WorkloadKind>(["app", "vm"]),
  name: NAME,
  generation: _uint(1, Number.MAX_SAFE_INTEGER),
  desired: _oneOf<DesiredState>(["running", "stopped", "absent"]),
  spec: SPEC,
  artifact: ARTIFACT,
  env: _array(_bytes(1, MAX_SEALED_ENTRY_BYTES), 0, MAX_ENV_ENTRIES),
  actions: _uniqueBy(_array(ACTION, 0, MAX_ACTIONS), ["id"]),
};

const WORKLOAD: _Field<Workload> = {
  optional: false,
  read(value, at) {
    const w = _struct<Workload>(WORKLOAD_FIELDS).read(value, at);
    if (w.spec.kind !== w.kind) {
      throw new _FieldError(`field ${at}.spec.kind must be the workload's kind, ${w.kind}`);
    }
    return w;
  },
  write: (value) => _struct<Workload>(WORKLOAD_FIELDS).write(value),
};

/** The `workloads` frame's list: no two workloads share an id, nor a (kind, name). */
export const _WORKLOADS = _uniqueBy(_array(WORKLOAD, 0, MAX_WORKLOADS), ["id", "name"]);

const INSTANCE = _struct<InstanceStatus>({
  release: _uint(1, 0x7fffffff),
  state: _oneOf(INSTANCE_STATES),
  pid: _optional(_uint(1, 0x7fffffff)),
  port: _optional(_uint(1, 65535)),
  restarts: _uint(0, 0x7fffffff),
  exit: _optional(
    _struct<{ code: number | null; signal?: string }>({
      code: _nullable(_uint(0, 255)),
      signal: _optional(SIGNAL),
    }),
  ),
  health: _optional(shown(MAX_HEALTH_OUTPUT)),
  since: _uint(0, Number.MAX_SAFE_INTEGER),
});

const VM_STATUS = _struct<VmStatus>({
  state: _oneOf(VM_STATES),
  driver: _optional(_oneOf(VM_DRIVERS)),
  pid: _optional(_uint(1, 0x7fffffff)),
  ports: _array(_struct<{ guest: number; host: number }>({ guest: PORT, host: PORT }), 0, MAX_VM_PORTS),
  address: _optional(
    _text({ pattern: [/^\d{1,3}(?:\.\d{1,3}){3}$/, "an IPv4 address like 10.0.0.2"], max: 15 }),
  ),
  snapshots: _uniqueBy(
    _array(
      _struct<{ name: string; at: number }>({ name: SNAPSHOT_NAME, at: _uint(0, Number.MAX_SAFE_INTEGER) }),
      0,
      MAX_SNAPSHOTS,
    ),
    ["name"],
  ),
  since: _uint(0, Number.MAX_SAFE_INTEGER),
});

/** workload.status fields (frames.ts). */
export const _STATUS_FIELDS = {
  id: ID,
  generation: _uint(0, Number.MAX_SAFE_INTEGER),
  live: _optional(_uint(1, 0x7fffffff)),
  instances: _array(INSTANCE, 0, MAX_INSTANCES),
  message: _optional(shown(1024)),
  actions: _array(
    _struct<ActionResult>({
      id: ACTION_ID,
      ok: _bool,
      message: _optional(shown(1024)),
    }),
    0,
    MAX_ACTIONS,
  ),
  /** Capability 9: a VM's own view. */
  vm: _optional(VM_STATUS),
};

/** logs.open fields (frames.ts). */
export const _LOGS_OPEN_FIELDS = {
  name: NAME,
  lines: _uint(0, 100_000),
  follow: _bool,
  since: _optional(_uint(0, Number.MAX_SAFE_INTEGER)),
};
