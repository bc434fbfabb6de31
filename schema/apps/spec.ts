// The app spec: `outpost.toml` at the root of an artifact (flags override it). Parsed with smol-toml
// (TOML 1.0, no dependencies, runs in the CLI, the Worker and the agent alike) and then checked key by
// key: an unknown key or a wrong type is refused naming the key, before anything is uploaded.
//
//   name = "shop"                     # the app, also the host service it answers as
//   cmd = ["bun", "server.js"]        # argv, no shell; ${OUTPOST_RUNTIME} is the agent's own runtime
//   image = "docker.io/library/x:1"   # instead of a process: a container (podman / docker)
//   env = { LOG_LEVEL = "info" }      # plain env; secrets come from `outpost env set`
//   restart = "always"                # always | on-failure | never
//   stop_signal = "SIGTERM"
//   stop_timeout = "10s"
//   release = ["bun", "migrate.js"]   # run once in the new release before the swap
//   listen = "127.0.0.1:8080"         # a stable host-local address proxied to the live release
//   keep = 5                          # releases kept on disk
//   user = "www-data"                 # when the agent runs as root
//   revert_window = "60s"             # a failure this soon after going live reverts
//   [health]
//   http = "/healthz"                 # or tcp = true, or cmd = ["./check"]
//   interval = "1s"
//   timeout = "2s"
//   grace = "30s"                     # how long a new release has to pass its first check

import { parse, TomlError } from "smol-toml";
import { parseDuration, SERVICE_NAME_PATTERN, SERVICE_NAME_RULE, USER_PATTERN } from "../names.ts";
import type { AppRunSpec, HealthCheck } from "../protocol/workloads.ts";

/**
 * An image reference, like `docker.io/library/nginx:1.27` or `localhost/app@sha256:…`: it starts with
 * a letter or digit, so podman can never take it for one of its flags.
 */
const IMAGE_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}$/;
// biome-ignore lint/suspicious/noTemplateCurlyInString: the literal argv item outpost.toml spells
const RUNTIME_ITEM = "${OUTPOST_RUNTIME}";
const IMAGE_REFERENCE_RULE = 'an image reference like "docker.io/library/nginx:1.27"';

/** The spec as the control plane keeps it: the run spec without what a release adds. */
export type AppSpec = Omit<AppRunSpec, "kind" | "release" | "revertTo"> & { name: string };

/** A spec that cannot be used, naming the key (`health.interval`) when one is at fault. */
export class SpecError extends TypeError {
  constructor(
    readonly key: string | undefined,
    message: string,
  ) {
    super(`outpost.toml: ${message}`);
  }
}

const DEFAULTS = {
  restart: "always",
  stopSignal: "SIGTERM",
  stopTimeout: 10_000,
  keep: 5,
  revertWindow: 60_000,
  health: { interval: 1000, timeout: 2000, grace: 30_000 },
} as const;

/** Largest outpost.toml accepted (it travels in the deploy request). */
const MAX_SPEC_BYTES = 64 * 1024;

type Table = Record<string, unknown>;

function _typeOf(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a date";
  if (value === null) return "null";
  if (typeof value === "object") return "a table";
  return `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}

function _wrong(key: string, expected: string, value: unknown): never {
  throw new SpecError(key, `${key} must be ${expected}, got ${_typeOf(value)}`);
}

function _known(table: Table, keys: readonly string[], prefix: string): void {
  for (const key of Object.keys(table)) {
    if (!keys.includes(key)) {
      const at = prefix + key;
      throw new SpecError(at, `unknown key ${at} (known: ${keys.map((k) => prefix + k).join(", ")})`);
    }
  }
}

function _string(value: unknown, key: string, pattern?: [RegExp, string]): string {
  if (typeof value !== "string") _wrong(key, pattern?.[1] ?? "a string", value);
  if (value.includes("\0")) throw new SpecError(key, `${key} must not contain U+0000`);
  if (pattern && !pattern[0].test(value)) _wrong(key, pattern[1], value);
  return value;
}

function _argv(value: unknown, key: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 256) {
    _wrong(key, 'a non-empty array of strings like ["bun", "server.js"]', value);
  }
  return value.map((item, i) => {
    const s = _string(item, `${key}[${i}]`);
    if (s === "") throw new SpecError(key, `${key}[${i}] must not be empty`);
    return s;
  });
}

function _duration(value: unknown, key: string, max = 3_600_000): number {
  const ms = typeof value === "string" ? parseDuration(value) : null;
  if (ms === null || ms > max) _wrong(key, `a duration like "5s" or "500ms", at most ${max / 1000}s`, value);
  return ms;
}

function _health(value: unknown): HealthCheck {
  if (typeof value !== "object" || value === null || Array.isArray(value)) _wrong("health", "a table", value);
  const t = value as Table;
  _known(t, ["http", "tcp", "cmd", "interval", "timeout", "grace"], "health.");
  const probes = ["http", "tcp", "cmd"].filter((k) => t[k] !== undefined);
  if (probes.length !== 1) {
    throw new SpecError("health", "health must have exactly one of http, tcp or cmd");
  }
  const out: HealthCheck = {
    interval: t.interval === undefined ? DEFAULTS.health.interval : _duration(t.interval, "health.interval"),
    timeout: t.timeout === undefined ? DEFAULTS.health.timeout : _duration(t.timeout, "health.timeout"),
    grace: t.grace === undefined ? DEFAULTS.health.grace : _duration(t.grace, "health.grace"),
  };
  if (out.interval < 100) throw new SpecError("health.interval", "health.interval must be at least 100ms");
  if (out.timeout < 100) throw new SpecError("health.timeout", "health.timeout must be at least 100ms");
  if (t.http !== undefined)
    out.http = _string(t.http, "health.http", [/^\/[\x21-\x7e]{0,1023}$/, 'a path like "/healthz"']);
  if (t.tcp !== undefined) {
    if (t.tcp !== true) _wrong("health.tcp", "true", t.tcp);
    out.tcp = true;
  }
  if (t.cmd !== undefined) out.cmd = _argv(t.cmd, "health.cmd");
  return out;
}

const KEYS = [
  "name",
  "cmd",
  "image",
  "env",
  "health",
  "restart",
  "stop_signal",
  "stop_timeout",
  "release",
  "listen",
  "keep",
  "user",
  "revert_window",
] as const;

/** What flags may override (the CLI's `--name`, `--keep`, `--listen`, …), already typed. */
export type SpecOverrides = Partial<AppSpec>;

/**
 * The app spec in `text` (outpost.toml), with `overrides` applied over it. Throws SpecError naming
 * the key at fault: a TOML syntax error (with its line), an unknown key, a wrong type or value.
 */
export function parseAppSpec(text: string, overrides: SpecOverrides = {}): AppSpec {
  if (new TextEncoder().encode(text).length > MAX_SPEC_BYTES) {
    throw new SpecError(undefined, `the file is over ${MAX_SPEC_BYTES} bytes`);
  }
  let doc: Table;
  try {
    doc = parse(text) as Table;
  } catch (error) {
    const line = error instanceof TomlError ? ` (line ${error.line})` : "";
    const why = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new SpecError(undefined, `not valid TOML${line}: ${why}`);
  }
  _known(doc, KEYS, "");
  const name = overrides.name ?? doc.name;
  const spec: AppSpec = {
    name: _string(name, "name", [SERVICE_NAME_PATTERN, SERVICE_NAME_RULE]),
    cmd: [],
    env: {},
    restart: DEFAULTS.restart,
    stopSignal: DEFAULTS.stopSignal,
    stopTimeout: DEFAULTS.stopTimeout,
    keep: DEFAULTS.keep,
    revertWindow: DEFAULTS.revertWindow,
  };
  if (doc.image !== undefined)
    spec.image = _string(doc.image, "image", [IMAGE_REFERENCE, IMAGE_REFERENCE_RULE]);
  if (doc.cmd !== undefined) spec.cmd = _argv(doc.cmd, "cmd");
  else if (spec.image === undefined) throw new SpecError("cmd", "cmd is required (or image)");
  // With an image, cmd is the container's argv: the agent's runtime is not in the image.
  if (spec.image !== undefined && spec.cmd.includes(RUNTIME_ITEM))
    throw new SpecError(
      "cmd",
      `cmd of an image is the container's argv; ${RUNTIME_ITEM} (the agent's own runtime) is not in it`,
    );
  if (doc.env !== undefined) {
    if (typeof doc.env !== "object" || doc.env === null || Array.isArray(doc.env))
      _wrong("env", "a table", doc.env);
    for (const [k, v] of Object.entries(doc.env as Table)) {
      const key = `env.${k}`;
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(k))
        throw new SpecError(key, `${key} is not a variable name`);
      if (k === "PORT") throw new SpecError(key, "env.PORT is set by the agent (a free port per release)");
      spec.env[k] = _string(v, key);
    }
  }
  if (doc.health !== undefined) spec.health = _health(doc.health);
  if (doc.restart !== undefined) {
    spec.restart = _string(doc.restart, "restart", [
      /^(always|on-failure|never)$/,
      '"always", "on-failure" or "never"',
    ]) as AppSpec["restart"];
  }
  if (doc.stop_signal !== undefined) {
    spec.stopSignal = _string(doc.stop_signal, "stop_signal", [
      /^SIG[A-Z0-9+-]{2,16}$/,
      'a signal name like "SIGTERM"',
    ]);
  }
  if (doc.stop_timeout !== undefined) spec.stopTimeout = _duration(doc.stop_timeout, "stop_timeout");
  if (doc.release !== undefined) spec.hook = _argv(doc.release, "release");
  if (doc.listen !== undefined) {
    spec.listen = _string(doc.listen, "listen", [
      /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]):[1-9]\d{0,4}$/,
      'an address like "127.0.0.1:8080"',
    ]);
  }
  if (doc.keep !== undefined) {
    if (typeof doc.keep !== "bigint" && typeof doc.keep !== "number")
      _wrong("keep", "an integer 1..100", doc.keep);
    const keep = Number(doc.keep);
    if (!Number.isInteger(keep) || keep < 1 || keep > 100) _wrong("keep", "an integer 1..100", doc.keep);
    spec.keep = keep;
  }
  if (doc.user !== undefined)
    spec.user = _string(doc.user, "user", [USER_PATTERN, 'a user name like "www-data" or a numeric uid']);
  if (doc.revert_window !== undefined) spec.revertWindow = _duration(doc.revert_window, "revert_window");
  const { name: _name, ...rest } = overrides;
  return { ...spec, ...rest };
}
