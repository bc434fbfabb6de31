// outpost-agent: the host agent's command line. One bundle (dist/agent.js) for Bun and Deno.
//
//   enroll --url <cp> --token <t> --name <name> [--labels k=v,…] [--state-dir DIR] [--add | --force]
//   run [--state-dir DIR] [--service name=address:port]… [--allow-net CIDR]… [--allow-loopback]
//       [--no-exec | --exec-allow PREFIX…]
//   status [--state-dir DIR] · leave <cluster>|<host>.<cluster> [--url CP] [--state-dir DIR]
//   version · help
//
// One agent holds an identity per enrollment (state.ts); run serves each on its own connection, with
// its own network, apps and job ledger, so one failing or refused does not stop the others.
//
// Failures print one line, "outpost-agent: <what failed>; <what to do>", to stderr. Exit codes: 0 ok,
// 1 failure, 2 usage.

import { homedir } from "node:os";
import { escapeControlCharacters } from "../schema/protocol/control-characters.ts";
import { Signer } from "../schema/protocol/index.ts";
import { ActionLedger } from "./action-ledger.ts";
import { fetchArtifact } from "./apps/artifact-fetch.ts";
import { Apps, cacheLimits, openAppEnv, prepareRelease } from "./apps/index.ts";
import {
  parseAllowNets,
  parseControlPlaneUrl,
  parseFlags,
  parseLabels,
  parseName,
  parseServices,
  required,
} from "./args.ts";
import { type AgentConfig, CONFIG_FILE, mergeRunSettings, parseAgentConfig } from "./config/index.ts";
import { Connection } from "./connection.ts";
import { enroll } from "./enroll.ts";
import { AgentError, oneLine, usageError } from "./errors.ts";
import { parseExecPolicy } from "./exec/index.ts";
import { collectFacts } from "./facts.ts";
import { JobRunner } from "./jobs/index.ts";
import { detectRuntime, type Runtime } from "./runtime/index.ts";
import {
  defaultStateDir,
  type Identity,
  listIdentities,
  loadIdentity,
  readStatus,
  removeIdentity,
  writeStatus,
} from "./state.ts";
import { HostNetwork } from "./tcp/index.ts";
import { AGENT_VERSION } from "./version.ts";
import { openConsoles } from "./vm/consoles.ts";
import { type Bridge, openBridge, Vms } from "./vm/index.ts";

const USAGE = `usage: outpost-agent <command> [options]

The Outpost host agent: enrolls this host with a control plane, then keeps it connected and runs what
the control plane asks of it. Runs on Bun (bun agent.js …) and on Deno (deno run -A agent.js …).

commands:
  enroll --url <url> --token <token> --name <name> [--labels k=v,…] [--state-dir DIR]
         [--add | --force]
      redeem a one-time token from 'outpost token create': creates this identity's key (it never
      leaves the host) and saves the identity in the state dir. --add adds it beside those already
      there (another cluster, or another control plane: one agent serves them all); --force
      replaces the one of that cluster and control plane
  status [--state-dir DIR]
      list this agent's identities: cluster, host, control plane, connected or the last error, since
  leave <cluster> | <host>.<cluster> [--url URL] [--state-dir DIR]
      remove one identity and its key (--url picks among control planes with that cluster); a
      running agent drops it on SIGHUP (or restart it)
  run [--state-dir DIR] [--service name=address:port]… [--allow-net CIDR]… [--allow-loopback]
      [--no-exec | --exec-allow PREFIX…] [--vm-bridge BRIDGE]
      connect to the control plane of every identity and serve each until SIGINT or SIGTERM: run
      commands, carry TCP streams to this host's services, and listen for the mesh routes that start
      here. SIGHUP re-reads the identities (serves new ones, drops those that left)
  config [--state-dir DIR] [run options]
      check <state dir>/agent.toml and print the settings 'run' would use with these options
  version
      print the agent's version
  help
      print this help

options:
  --state-dir DIR   the host's key and state (default: $OUTPOST_STATE_DIR, else ~/.outpost-agent)

run options (what TCP streams from the control plane may reach; by default only declared services):
  --service name=address:port   a service of this host, reachable by name (repeatable); it may point
                                anywhere: postgres=127.0.0.1:5432, db=db.internal:5432, pg=5432
  --allow-net CIDR              a network that services added through the API may point into, such
                                as 10.1.0.0/16 (repeatable); loopback is always allowed to them, and
                                cloud metadata and link-local addresses never are
  --allow-loopback              streams may name a bare port, meaning that port on 127.0.0.1
  --vm-bridge BRIDGE            microVMs get a TAP on this existing bridge (root only) and an address
                                from its IPv4 subnet; their ports are served at that address

run options (what the control plane may run here; by default any argv, as this agent's user, which
reaches everything that user can, the network included, whatever the options above say):
  --no-exec                     refuse every exec
  --exec-allow PREFIX           run only argv that starts with PREFIX (repeatable): words separated
                                by single spaces, no quoting ('systemctl status'), or a JSON array of
                                strings ('["grep","-c","two words"]'). Whole items compared, the program
                                exactly as named (no PATH lookup; a bare name or an absolute path);
                                more arguments may follow; such an exec may not set environment
                                variables

config file: <state dir>/agent.toml holds the run options under their own names, e.g.
  allow-loopback = true
  allow-net = ["10.1.0.0/16"]
  exec-allow = ["systemctl status"]      # or no-exec = true
  [services]
  ssh = "127.0.0.1:22"
An unknown key or a wrong type is refused, naming it. A flag given replaces that setting from the file
(--allow-net the whole list, --no-exec/--exec-allow the exec settings); services merge by name, the
flag's definition winning; --allow-loopback turns loopback on whatever the file says.

exit codes: 0 ok, 1 failure, 2 usage error`;

const log = (line: string) => console.error(`outpost-agent: ${line}`);

export async function main(runtime: Runtime): Promise<number> {
  const [command, ...rest] = runtime.argv;
  try {
    switch (command) {
      case undefined:
        throw usageError("no command given");
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return 0;
      case "version":
      case "--version":
        console.log(`outpost-agent ${AGENT_VERSION} (${runtime.name} ${runtime.version})`);
        return 0;
      case "enroll":
        return await _enroll(runtime, rest);
      case "run":
        return await _run(runtime, rest);
      case "config":
        return await _config(runtime, rest);
      case "status":
        return await _status(runtime, rest);
      case "leave":
        return await _leave(runtime, rest);
      default:
        throw usageError(`unknown command '${command}'`);
    }
  } catch (error) {
    if (error instanceof AgentError) {
      console.error(`outpost-agent: ${oneLine(error.message)}`);
      return error.exitCode;
    }
    const why = error instanceof Error ? error.message : String(error);
    console.error(`outpost-agent: unexpected error (${oneLine(why).slice(0, 300)}); please report it`);
    return 1;
  }
}

async function _enroll(runtime: Runtime, argv: readonly string[]): Promise<number> {
  const flags = parseFlags("enroll", argv, {
    url: "string",
    token: "string",
    name: "string",
    labels: "string",
    "state-dir": "string",
    force: "boolean",
    add: "boolean",
    help: "boolean",
  });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (flags.add && flags.force) throw usageError("enroll: --add and --force exclude each other");
  const url = parseControlPlaneUrl(required("enroll", flags.url, "url"));
  const token = required("enroll", flags.token, "token");
  const name = parseName(required("enroll", flags.name, "name"));
  const labels = flags.labels !== undefined ? parseLabels(flags.labels) : undefined;
  const stateDir = _stateDir(runtime, flags["state-dir"]);
  const state = await enroll(runtime, {
    url,
    token,
    name,
    stateDir,
    force: flags.force === true,
    add: flags.add === true,
    ...(labels ? { labels } : {}),
  });
  console.log(
    `enrolled ${state.name}.${state.cluster} (${state.hostId}, site ${state.site}) with ${state.url}; ` +
      `start it with: ${startCommand(runtime, stateDir, flags["state-dir"] !== undefined)}`,
  );
  return 0;
}

/**
 * The command that starts this agent, for how it was started: install.sh's launcher when it runs us
 * (OUTPOST_AGENT_LAUNCHER, which already names the state dir), else this runtime and this script, by
 * absolute path (`/usr/bin/bun /opt/x/agent.js run`, `deno run -A …`), so it works from anywhere.
 */
function startCommand(runtime: Runtime, stateDir: string, explicitStateDir: boolean): string {
  const launcher = runtime.env("OUTPOST_AGENT_LAUNCHER");
  if (launcher) return _shellWord(launcher);
  const words = [...runtime.invocation, "run", ...(explicitStateDir ? ["--state-dir", stateDir] : [])];
  return words.map(_shellWord).join(" ");
}

/** `word` as a POSIX shell reads it back: bare when safe, else in single quotes. */
function _shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

const RUN_FLAGS = {
  "state-dir": "string",
  service: "list",
  "allow-net": "list",
  "allow-loopback": "boolean",
  "no-exec": "boolean",
  "exec-allow": "list",
  "vm-bridge": "string",
  help: "boolean",
} as const;

/** The run settings of these flags over the state dir's agent.toml, each parsed (usage errors). */
async function _settings(runtime: Runtime, command: string, argv: readonly string[]) {
  const flags = parseFlags(command, argv, RUN_FLAGS);
  const stateDir = _stateDir(runtime, flags["state-dir"]);
  if (flags.help) return { help: true as const, stateDir };
  const settings = mergeRunSettings(await _readConfig(runtime, stateDir), flags);
  return {
    help: false as const,
    stateDir,
    allowLoopback: settings["allow-loopback"],
    allowNets: parseAllowNets(settings["allow-net"]),
    allowNetText: settings["allow-net"],
    services: parseServices(settings.service),
    execPolicy: parseExecPolicy(settings["no-exec"], settings["exec-allow"]),
    vmBridge: settings["vm-bridge"],
  };
}

async function _config(runtime: Runtime, argv: readonly string[]): Promise<number> {
  const settings = await _settings(runtime, "config", argv);
  if (settings.help) {
    console.log(USAGE);
    return 0;
  }
  const { execPolicy } = settings;
  console.log(
    [
      `config file     ${_statePath(settings.stateDir, CONFIG_FILE)}`,
      `services        ${settings.services.map((s) => `${s.name}=${s.target}`).join(", ") || "(none)"}`,
      `allow-net       ${settings.allowNetText.join(", ") || "(none)"}`,
      `allow-loopback  ${settings.allowLoopback}`,
      `vm-bridge       ${settings.vmBridge ?? "(none: user-mode networking)"}`,
      `exec            ${execPolicy.mode === "allowlist" ? `allowlist: ${execPolicy.allow.map((p) => JSON.stringify(p)).join(", ")}` : execPolicy.mode}`,
    ].join("\n"),
  );
  return 0;
}

async function _run(runtime: Runtime, argv: readonly string[]): Promise<number> {
  const settings = await _settings(runtime, "run", argv);
  if (settings.help) {
    console.log(USAGE);
    return 0;
  }
  const { stateDir } = settings;
  // Refused now, not at the first VM: no bridge, or not root, and the agent does not start.
  const bridge = settings.vmBridge ? await openBridge(runtime, settings.vmBridge) : undefined;
  const identities = await listIdentities(runtime, stateDir);
  if (identities.length === 0) await loadIdentity(runtime, stateDir); // throws: not enrolled
  const many = identities.length > 1;
  const served = new Map<string, Served>();
  let stopping = false;
  let fatal: AgentError | undefined;
  let changed: () => void = () => {};
  const serve = async (identity: Identity) => {
    const one = await _serve(runtime, settings, identity, many, bridge);
    served.set(identity.dir, one);
    void one.done.then((error) => {
      if (served.get(identity.dir) === one) served.delete(identity.dir);
      if (error) {
        fatal = error;
        if (many) one.log(`stopped serving it: ${oneLine(error.message)}`);
      }
      changed();
    });
  };
  // The last resort: a stray error is logged, never fatal (every handler is wrapped; this is for bugs).
  runtime.onUncaught((error) => {
    const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    log(`internal error (${oneLine(why).slice(0, 300)}); carrying on`);
  });
  const shutdown = () => {
    if (stopping) runtime.exit(0); // a second Ctrl-C does not wait
    stopping = true;
    log("shutting down");
    for (const one of served.values()) void one.stop();
  };
  runtime.onSignal("SIGINT", shutdown);
  runtime.onSignal("SIGTERM", shutdown);
  // SIGHUP: serve the identities enrolled since, drop those that left.
  let reloading = Promise.resolve();
  runtime.onSignal("SIGHUP", () => {
    reloading = reloading.then(async () => {
      if (stopping) return;
      let now: Identity[];
      try {
        now = await listIdentities(runtime, stateDir);
      } catch (error) {
        log(`SIGHUP: cannot read the identities (${oneLine(String(error)).slice(0, 200)}); kept serving`);
        return;
      }
      const dirs = new Set(now.map((i) => i.dir));
      for (const [dir, one] of served) {
        if (dirs.has(dir) && served.get(dir)?.hostId === now.find((i) => i.dir === dir)?.state.hostId)
          continue;
        one.log("left; no longer served");
        served.delete(dir);
        void one.stop();
      }
      for (const identity of now) if (!served.has(identity.dir)) await serve(identity);
      log(`SIGHUP: serving ${served.size} identit${served.size === 1 ? "y" : "ies"}`);
      changed();
    });
  });
  for (const identity of identities) await serve(identity);
  while (served.size > 0) await new Promise<void>((resolve) => (changed = resolve));
  await reloading;
  // The last identity is done: an error the agent cannot retry past (revoked, …) fails the process.
  if (fatal && !stopping) throw fatal;
  return 0;
}

interface Served {
  hostId: string;
  log: (line: string) => void;
  /** Resolves once the connection is over: undefined after stop(), else why it cannot go on. */
  done: Promise<AgentError | undefined>;
  stop(): Promise<void>;
}

/** One identity served: its own network, apps, job ledger and connection (with its own backoff). */
async function _serve(
  runtime: Runtime,
  settings: Extract<Awaited<ReturnType<typeof _settings>>, { help: false }>,
  identity: Identity,
  prefixed: boolean,
  bridge: Bridge | undefined,
): Promise<Served> {
  const { dir } = identity;
  const { execPolicy } = settings;
  const me = `${identity.state.name}.${identity.state.cluster}`;
  const say = prefixed ? (line: string) => log(`${me}: ${line}`) : log;
  const { state, seed } = await loadIdentity(runtime, dir);
  const status = (connected: boolean, error?: string) =>
    writeStatus(runtime, dir, {
      connected,
      since: new Date().toISOString(),
      ...(error ? { error: oneLine(error).slice(0, 300) } : {}),
    }).catch((e) => say(`cannot write its status (${oneLine(String(e)).slice(0, 200)})`));
  const network = new HostNetwork({
    runtime,
    policy: { allowLoopback: settings.allowLoopback, allowNets: settings.allowNets },
    localServices: settings.services,
    log: say,
  });
  const signer = await Signer.fromSeed(seed);
  const apps = await Apps.open({
    runtime,
    stateDir: dir,
    log: say,
    setService: (name, port) => network.setAppService(name, port),
    prepareRelease: prepareRelease(
      state,
      signer,
      dir,
      cacheLimits(runtime.env("OUTPOST_ARTIFACT_CACHE_BYTES")),
    ),
    openEnv: openAppEnv(state, seed),
  });
  const vms = await Vms.open({
    runtime,
    stateDir: dir,
    log: say,
    setService: (name, target) => network.setVmService(name, target),
    ...(bridge ? { bridge } : {}),
    fetchImage: async (artifact, destDir) => {
      await fetchArtifact({ url: state.url, hostId: state.hostId, signer }, { ...artifact, destDir });
    },
  });
  const jobs = new JobRunner(runtime, await ActionLedger.open(dir), execPolicy, say);
  const consoles = openConsoles(vms, dir, say);
  const connection = new Connection({
    jobs,
    runtime,
    state,
    signer,
    facts: () => collectFacts(runtime, dir, execPolicy),
    execPolicy,
    network,
    apps,
    consoles,
    vms,
    log: say,
    debug: runtime.env("OUTPOST_AGENT_DEBUG") === "1",
    onReady: () => void status(true),
    onDisconnected: (why) => void status(false, why),
  });
  say(
    `starting ${AGENT_VERSION} on ${runtime.name} ${runtime.version} for ${state.name}.${state.cluster} (${state.hostId})`,
  );
  const done = connection.run().then(
    async (error) => {
      network.close();
      apps.close();
      consoles.close();
      vms.close();
      await status(false, error ? error.message : "the agent stopped");
      return error;
    },
    async (error: unknown) => {
      network.close();
      apps.close();
      consoles.close();
      vms.close();
      const why = oneLine(error instanceof Error ? error.message : String(error)).slice(0, 300);
      await status(false, why);
      return new AgentError(`serving ${me} failed (${why})`, "please report it");
    },
  );
  return { hostId: state.hostId, log: say, done, stop: () => connection.stop() };
}

async function _status(runtime: Runtime, argv: readonly string[]): Promise<number> {
  const flags = parseFlags("status", argv, { "state-dir": "string", json: "boolean", help: "boolean" });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const stateDir = _stateDir(runtime, flags["state-dir"]);
  const rows = await Promise.all(
    (await listIdentities(runtime, stateDir)).map(async ({ dir, state }) => {
      const status = await readStatus(runtime, dir);
      return {
        cluster: state.cluster,
        host: `${state.name}.${state.cluster}`,
        hostId: state.hostId,
        url: state.url,
        state: status === undefined ? "never run" : status.connected ? "connected" : "disconnected",
        ...(status?.error ? { error: status.error } : {}),
        ...(status ? { since: status.since } : {}),
      };
    }),
  );
  if (flags.json) {
    console.log(JSON.stringify({ items: rows }));
    return 0;
  }
  if (rows.length === 0) {
    console.log(`no identities in ${stateDir}; enroll one with 'outpost-agent enroll'`);
    return 0;
  }
  // Strings from the state files are this host's own, but came from control planes: escaped.
  const clean = (text: string) => escapeControlCharacters(text);
  const table = [
    ["CLUSTER", "HOST", "CONTROL PLANE", "STATE", "SINCE"],
    ...rows.map((r) => [
      clean(r.cluster),
      clean(r.host),
      clean(r.url),
      clean(r.error ? `${r.state}: ${r.error}` : r.state),
      r.since ?? "-",
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) {
    console.log(
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    );
  }
  return 0;
}

async function _leave(runtime: Runtime, argv: readonly string[]): Promise<number> {
  const [target, ...rest] = argv;
  if (target === "--help" || target === "-h") {
    console.log(USAGE);
    return 0;
  }
  if (target === undefined || target.startsWith("--")) {
    throw usageError("leave: name the identity to remove: <cluster> or <host>.<cluster>");
  }
  const flags = parseFlags("leave", rest, { "state-dir": "string", url: "string", help: "boolean" });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const stateDir = _stateDir(runtime, flags["state-dir"]);
  const url = flags.url !== undefined ? parseControlPlaneUrl(flags.url) : undefined;
  const dot = target.indexOf(".");
  const [host, cluster] = dot === -1 ? [undefined, target] : [target.slice(0, dot), target.slice(dot + 1)];
  const all = await listIdentities(runtime, stateDir);
  const matches = all.filter(
    ({ state }) =>
      state.cluster === cluster &&
      (host === undefined || state.name === host) &&
      (url === undefined || state.url === url),
  );
  const shown = escapeControlCharacters(target);
  if (matches.length === 0) {
    const known = all.map((i) => `${i.state.name}.${i.state.cluster}`).join(", ") || "none";
    throw new AgentError(`this agent has no identity ${shown} in ${stateDir}`, `it has: ${known}`);
  }
  if (matches.length > 1) {
    const which = matches.map((i) => `${i.state.name}.${i.state.cluster} (${i.state.url})`).join(", ");
    throw new AgentError(
      `${shown} names ${matches.length} identities: ${which}`,
      "name the host, or pass --url",
    );
  }
  const gone = matches[0]!;
  await removeIdentity(runtime, stateDir, gone);
  console.log(
    `left ${gone.state.name}.${gone.state.cluster} of ${gone.state.url}: its key is deleted` +
      `${all.length > 1 ? `; ${all.length - 1} other identit${all.length === 2 ? "y" : "ies"} kept` : ""}. ` +
      "A running agent drops it on SIGHUP (or restart it); remove the host from the control plane with " +
      `'outpost hosts rm ${gone.state.name}.${gone.state.cluster}'`,
  );
  return 0;
}

/** `<state dir>/agent.toml`, or no settings when there is none. */
async function _readConfig(runtime: Runtime, stateDir: string): Promise<AgentConfig> {
  const path = _statePath(stateDir, CONFIG_FILE);
  let text: string | undefined;
  try {
    text = await runtime.readTextFile(path);
  } catch (error) {
    throw new AgentError(
      `cannot read ${path} (${oneLine(String(error)).slice(0, 200)})`,
      "check its permissions",
    );
  }
  return text === undefined ? { services: {} } : parseAgentConfig(text, path);
}

function _statePath(dir: string, file: string): string {
  return `${dir.replace(/\/+$/, "")}/${file}`;
}

function _stateDir(runtime: Runtime, flag: string | undefined): string {
  if (flag !== undefined) {
    if (flag === "") throw usageError("--state-dir must not be empty");
    return flag;
  }
  return defaultStateDir(runtime, homedir());
}

// ## Entry point

const runtime = detectRuntime();
runtime.exit(await main(runtime));
