// `outpost`: a thin layer over the SDK. Exit status: 0 success, 1 the server refused or could not be
// reached, or no login (its message on stderr), 2 a usage error (with the command's help); exec passes
// the remote exit code through and exits 255 when the command could not be run at all (as ssh does).
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import pkg from "../../package.json" with { type: "json" };
import { escapeControlCharacters } from "../../schema/protocol/control-characters.ts";
import { OutpostApiError, OutpostConnectionError, OutpostStreamError } from "../errors.ts";
import { type Command, makeContext } from "./command.ts";
import { app } from "./commands/app.ts";
import { apps } from "./commands/apps.ts";
import { artifact } from "./commands/artifact.ts";
import { audit } from "./commands/audit.ts";
import { cluster } from "./commands/cluster.ts";
import { completionCommand } from "./commands/completion.ts";
import { deploy } from "./commands/deploy.ts";
import { deploys } from "./commands/deploys.ts";
import { env as envCommand } from "./commands/env.ts";
import { exec, runExec, splitExecArgs } from "./commands/exec.ts";
import { expose } from "./commands/expose.ts";
import { forward } from "./commands/forward.ts";
import { hosts } from "./commands/hosts.ts";
import { job } from "./commands/job.ts";
import { keeper } from "./commands/keeper.ts";
import { keys } from "./commands/keys.ts";
import { login } from "./commands/login.ts";
import { logout } from "./commands/logout.ts";
import { logs } from "./commands/logs.ts";
import { mesh } from "./commands/mesh.ts";
import { proxy } from "./commands/proxy.ts";
import { recording } from "./commands/recording.ts";
import { releases } from "./commands/releases.ts";
import { rollback } from "./commands/rollback.ts";
import { service } from "./commands/service.ts";
import { sessions } from "./commands/sessions.ts";
import { shell } from "./commands/shell.ts";
import { site } from "./commands/site.ts";
import { ssh, sshConfig } from "./commands/ssh.ts";
import { tenant } from "./commands/tenant.ts";
import { token } from "./commands/token.ts";
import { vm } from "./commands/vm.ts";
import { whoami } from "./commands/whoami.ts";
import { checkProfileName, NotLoggedInError } from "./config.ts";
import { type Io, processIo } from "./output.ts";
import { UsageError } from "./usage-error.ts";

/** The version in package.json, baked into dist/cli.js by esbuild. */
export const VERSION: string = pkg.version;

export const COMMANDS: Command[] = [
  login,
  logout,
  whoami,
  tenant,
  keys,
  cluster,
  site,
  token,
  hosts,
  exec,
  shell,
  job,
  sessions,
  recording,
  service,
  proxy,
  forward,
  mesh,
  expose,
  envCommand,
  keeper,
  ssh,
  sshConfig,
  deploy,
  apps,
  app,
  logs,
  releases,
  rollback,
  deploys,
  audit,
  artifact,
  vm,
  completionCommand(() => COMMANDS),
];

/** `outpost web01.prod uname -a`: a first word that names a host (and no command) means exec. */
const HOST_REF = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?\.[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "usage: outpost [--profile P] <command> [args…]",
    "       outpost [--profile P] <host>.<cluster> <argv…>   (everything after the host runs there)",
    "       outpost --version",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "--profile P (or OUTPOST_PROFILE) picks a saved login ('outpost --profile P login …'); default 'default'.",
    "Environment: OUTPOST_URL, OUTPOST_TOKEN (override the profile unless --profile is given),",
    "OUTPOST_ADMIN_TOKEN (tenant commands).",
    "Exit status: 0 ok, 1 refused, failed or not logged in, 2 usage error; exec: the remote code, or 255",
    "when it could not run at all.",
    "Run 'outpost <command> --help' for a command's usage.",
  ].join("\n");
}

const isHelp = (a: string) => a === "--help" || a === "-h";

/** Options of outpost itself, before the command: `--profile P`, `--version`, `--help`. */
function globalOptions(argv: string[]): { profile?: string; version: boolean; rest: string[] } {
  let profile: string | undefined;
  let version = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--profile") {
      const value = argv[++i];
      if (!value) throw new UsageError("--profile needs a name", overview());
      profile = checkProfileName(value);
    } else if (a.startsWith("--profile=")) profile = checkProfileName(a.slice("--profile=".length));
    else if (a === "--version" || a === "-V") version = true;
    else break;
  }
  return { ...(profile ? { profile } : {}), version, rest: argv.slice(i) };
}

export async function main(argv: string[], io: Io = processIo, env = process.env): Promise<number> {
  // exec (and its shorthand) exits 255 when the command could not run at all, as ssh does, so that a
  // script can tell that from the remote program's own exit 1.
  let failed = 1;
  try {
    const { profile, version, rest } = globalOptions(argv);
    if (version) {
      io.out(`outpost ${VERSION}`);
      return 0;
    }
    const [name, ...args] = rest;
    if (!name || isHelp(name) || name === "help") {
      (name ? io.out : io.err)(overview());
      return name ? 0 : 2;
    }
    const command = COMMANDS.find((c) => c.name === name);
    const ctx = makeContext(io, env, profile);
    // ssh's rule: everything after the host is the remote argv, --help included.
    if (!command && HOST_REF.test(name)) {
      failed = 255;
      return await runExec(ctx, name, args, {});
    }
    if (!command) throw new UsageError(`unknown command '${name}'`, overview());
    // Could not run at all is 255 for one host, as ssh has it; a fan-out (--cluster) refused is 1.
    if (command === exec && !splitExecArgs(args).own.includes("--cluster")) failed = 255;
    // exec and ssh pass everything after the host through, --help included; job everything after `--`.
    const ownArgs =
      command === ssh
        ? args.slice(0, 1)
        : command === exec
          ? splitExecArgs(args).own
          : command === job && args.includes("--")
            ? args.slice(0, args.indexOf("--"))
            : args;
    if (ownArgs.some(isHelp)) {
      io.out(command.help);
      return 0;
    }
    return (await command.run(ctx, args)) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`outpost: ${err.message}`);
      if (err.help) io.err(`\n${err.help}`);
      return 2;
    }
    if (err instanceof NotLoggedInError) {
      io.err(`outpost: ${err.message}`);
      return 1;
    }
    // The server's words (and an agent's, relayed), so on one line with nothing for the terminal to obey.
    if (err instanceof OutpostApiError) {
      io.err(`outpost: ${escapeControlCharacters(`${err.message} (${err.status} ${err.code})`)}`);
      return failed;
    }
    if (err instanceof OutpostStreamError) {
      io.err(`outpost: ${escapeControlCharacters(`${err.message} (${err.code})`)}`);
      return failed;
    }
    if (err instanceof OutpostConnectionError) {
      io.err(`outpost: ${err.message}; is it running? ('npm start' runs one locally)`);
      return failed;
    }
    throw err;
  }
}

// Run as a program (`node dist/cli.js …`, the bundle the README names) as well as imported by
// sdk/bin/outpost.js; realpath, since npm links bins through symlinks.
if (process.argv[1] && _isEntry(process.argv[1])) process.exitCode = await main(process.argv.slice(2));

function _isEntry(path: string): boolean {
  try {
    return realpathSync(path) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
