// outpost-agent: the host agent's command line. One bundle (dist/agent.js) for Bun and Deno.
//
//   enroll --url <cp> --token <t> --name <name> [--labels k=v,…] [--state-dir DIR] [--force]
//   run [--state-dir DIR] [--service name=address:port]… [--allow-net CIDR]… [--allow-loopback]
//       [--no-exec | --exec-allow PREFIX…]
//   version · help
//
// Failures print one line, "outpost-agent: <what failed>; <what to do>", to stderr. Exit codes: 0 ok,
// 1 failure, 2 usage.

import { homedir } from "node:os";
import { Signer } from "../schema/protocol/index.ts";
import { ActionLedger } from "./action-ledger.ts";
import { Apps, openAppEnv, prepareRelease } from "./apps/index.ts";
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
import { defaultStateDir, loadIdentity } from "./state.ts";
import { HostNetwork } from "./tcp/index.ts";
import { AGENT_VERSION } from "./version.ts";

const USAGE = `usage: outpost-agent <command> [options]

The Outpost host agent: enrolls this host with a control plane, then keeps it connected and runs what
the control plane asks of it. Runs on Bun (bun agent.js …) and on Deno (deno run -A agent.js …).

commands:
  enroll --url <url> --token <token> --name <name> [--labels k=v,…] [--state-dir DIR] [--force]
      redeem a one-time token from 'outpost token create': creates this host's key (it never leaves
      the host) and its identity; --force replaces an existing enrollment
  run [--state-dir DIR] [--service name=address:port]… [--allow-net CIDR]… [--allow-loopback]
      [--no-exec | --exec-allow PREFIX…]
      connect to the control plane and serve it until SIGINT or SIGTERM: run commands, carry TCP
      streams to this host's services, and listen for the mesh routes that start here
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
    help: "boolean",
  });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
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
  const { stateDir, execPolicy } = settings;
  const network = new HostNetwork({
    runtime,
    policy: { allowLoopback: settings.allowLoopback, allowNets: settings.allowNets },
    localServices: settings.services,
    log,
  });
  const { state, seed } = await loadIdentity(runtime, stateDir);
  const signer = await Signer.fromSeed(seed);
  const apps = await Apps.open({
    runtime,
    stateDir,
    log,
    setService: (name, port) => network.setAppService(name, port),
    prepareRelease: prepareRelease(state, signer),
    openEnv: openAppEnv(state, seed),
  });
  const jobs = new JobRunner(runtime, await ActionLedger.open(stateDir), execPolicy, log);
  const connection = new Connection({
    jobs,
    runtime,
    state,
    signer,
    facts: () => collectFacts(runtime, stateDir, execPolicy),
    execPolicy,
    network,
    apps,
    log,
    debug: runtime.env("OUTPOST_AGENT_DEBUG") === "1",
  });
  // The last resort: a stray error is logged, never fatal (every handler is wrapped; this is for bugs).
  runtime.onUncaught((error) => {
    const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    log(`internal error (${oneLine(why).slice(0, 300)}); carrying on`);
  });
  let stopping = false;
  const shutdown = () => {
    if (stopping) runtime.exit(0); // a second Ctrl-C does not wait
    stopping = true;
    log("shutting down");
    void connection.stop();
  };
  runtime.onSignal("SIGINT", shutdown);
  runtime.onSignal("SIGTERM", shutdown);
  log(
    `starting ${AGENT_VERSION} on ${runtime.name} ${runtime.version} for ${state.name}.${state.cluster} (${state.hostId})`,
  );
  const fatal = await connection.run();
  network.close();
  apps.close();
  if (fatal) throw fatal;
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
