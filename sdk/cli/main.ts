// `outpost`: a thin layer over the SDK. Exit status: 0 success, 1 the server refused or could not be
// reached (its message on stderr), 2 a usage error (with the command's help).
import { escapeControlCharacters } from "../../schema/protocol/control-characters.ts";
import { OutpostApiError, OutpostConnectionError, OutpostStreamError } from "../errors.ts";
import { type Command, makeContext } from "./command.ts";
import { app } from "./commands/app.ts";
import { apps } from "./commands/apps.ts";
import { artifact } from "./commands/artifact.ts";
import { audit } from "./commands/audit.ts";
import { cluster } from "./commands/cluster.ts";
import { deploy } from "./commands/deploy.ts";
import { deploys } from "./commands/deploys.ts";
import { env as envCommand } from "./commands/env.ts";
import { exec, runExec } from "./commands/exec.ts";
import { expose } from "./commands/expose.ts";
import { forward } from "./commands/forward.ts";
import { hosts } from "./commands/hosts.ts";
import { job } from "./commands/job.ts";
import { keeper } from "./commands/keeper.ts";
import { keys } from "./commands/keys.ts";
import { login } from "./commands/login.ts";
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
import { type Io, processIo } from "./output.ts";
import { UsageError } from "./usage-error.ts";

export const COMMANDS: Command[] = [
  login,
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
  releases,
  rollback,
  deploys,
  audit,
  artifact,
];

/** `outpost web01.prod uname -a`: a first word that names a host (and no command) means exec. */
const HOST_REF = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?\.[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "usage: outpost <command> [args…]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Environment: OUTPOST_URL, OUTPOST_TOKEN (override 'outpost login'), OUTPOST_ADMIN_TOKEN (tenant commands).",
    "Run 'outpost <command> --help' for a command's usage.",
  ].join("\n");
}

const isHelp = (a: string) => a === "--help" || a === "-h";

export async function main(argv: string[], io: Io = processIo, env = process.env): Promise<number> {
  const [name, ...args] = argv;
  if (!name || isHelp(name) || name === "help") {
    (name ? io.out : io.err)(overview());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (!command && HOST_REF.test(name)) return await runExec(makeContext(io, env), name, args, {});
    if (!command) throw new UsageError(`unknown command '${name}'`, overview());
    // exec passes everything after `--` through, --help included.
    const ownArgs =
      command === ssh
        ? args.slice(0, 1)
        : command === exec && args.includes("--")
          ? args.slice(0, args.indexOf("--"))
          : command === job && args.includes("--")
            ? args.slice(0, args.indexOf("--"))
            : args;
    if (ownArgs.some(isHelp)) {
      io.out(command.help);
      return 0;
    }
    return (await command.run(makeContext(io, env), args)) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`outpost: ${err.message}`);
      if (err.help) io.err(`\n${err.help}`);
      return 2;
    }
    // The server's words (and an agent's, relayed), so on one line with nothing for the terminal to obey.
    if (err instanceof OutpostApiError) {
      io.err(`outpost: ${escapeControlCharacters(`${err.message} (${err.status} ${err.code})`)}`);
      return 1;
    }
    if (err instanceof OutpostStreamError) {
      io.err(`outpost: ${escapeControlCharacters(`${err.message} (${err.code})`)}`);
      return 1;
    }
    if (err instanceof OutpostConnectionError) {
      io.err(`outpost: ${err.message}; is it running? ('npm start' runs one locally)`);
      return 1;
    }
    throw err;
  }
}
