// The agent's config file, `<state dir>/agent.toml`: the `run` flags a systemd unit or `npm start`
// cannot easily pass, under the flags' own names (TOML, as the app spec is).
//
//   allow-loopback = true                         # --allow-loopback
//   allow-net = ["10.1.0.0/16"]                   # --allow-net, each
//   no-exec = false                               # --no-exec
//   exec-allow = ["systemctl status", '["grep","-c"]']   # --exec-allow, each
//   vm-bridge = "br0"                             # --vm-bridge
//   [services]                                    # --service name=target, each
//   ssh = "127.0.0.1:22"
//
// Strict: an unknown key or a value of the wrong type is refused naming it, and nothing runs, so a
// typo (`allow-nets`) never silently leaves a host more open or more closed than its owner wrote.
// Precedence: a flag given on the command line replaces that setting from the file (`--allow-net`
// replaces the file's whole list, `--no-exec`/`--exec-allow` its exec settings); services merge by
// name, a flag's definition winning over the file's; `--allow-loopback` can only turn loopback on.
import { parse, TomlError } from "smol-toml";
import { parseAllowNets, parseServices } from "../args.ts";
import { AgentError } from "../errors.ts";
import { parseExecPolicy } from "../exec/index.ts";

export const CONFIG_FILE = "agent.toml";

/** What the file may set, as the `run` flags would (each value still checked by args.ts). */
export interface AgentConfig {
  services: Record<string, string>;
  "allow-net"?: string[];
  "allow-loopback"?: boolean;
  "no-exec"?: boolean;
  "exec-allow"?: string[];
  "vm-bridge"?: string;
}

/** The `run` settings once flags and file are merged: still text, for args.ts's parsers. */
export interface RunSettings {
  service: string[];
  "allow-net": string[];
  "allow-loopback": boolean;
  "no-exec": boolean;
  "exec-allow": string[];
  "vm-bridge"?: string;
}

/** Parses the file's text; an AgentError (exit 2) naming `path` and the key for anything amiss. */
export function parseAgentConfig(text: string, path: string): AgentConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (error) {
    const why = error instanceof TomlError ? error.message.split("\n")[0] : String(error);
    throw _bad(path, `is not valid TOML (${why})`);
  }
  const config: AgentConfig = { services: {} };
  for (const [key, value] of Object.entries(doc)) {
    switch (key) {
      case "services": {
        if (!_isTable(value)) throw _bad(path, '[services] must be a table of name = "address:port"');
        for (const [name, target] of Object.entries(value)) {
          if (typeof target !== "string") {
            throw _bad(path, `services.${name} must be a string "address:port", not ${_kind(target)}`);
          }
          config.services[name] = target;
        }
        break;
      }
      case "allow-net":
      case "exec-allow":
        if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
          throw _bad(path, `${key} must be a list of strings, not ${_kind(value)}`);
        }
        config[key] = value as string[];
        break;
      case "vm-bridge":
        if (typeof value !== "string")
          throw _bad(path, `vm-bridge must be a bridge's name, not ${_kind(value)}`);
        config[key] = value;
        break;
      case "allow-loopback":
      case "no-exec":
        if (typeof value !== "boolean") throw _bad(path, `${key} must be true or false, not ${_kind(value)}`);
        config[key] = value;
        break;
      default:
        throw _bad(
          path,
          `unknown key '${key}' (known: services, allow-net, allow-loopback, no-exec, exec-allow, vm-bridge)`,
        );
    }
  }
  // Each value as its flag would be checked, so the file's mistakes are reported against the file.
  try {
    parseServices(Object.entries(config.services).map(([name, target]) => `${name}=${target}`));
    parseAllowNets(config["allow-net"] ?? []);
    parseExecPolicy(config["no-exec"] === true, config["exec-allow"] ?? []);
  } catch (error) {
    if (!(error instanceof AgentError)) throw error;
    throw _bad(path, error.message.replace(/; run 'outpost-agent --help' for usage$/, ""));
  }
  return config;
}

/** Flags over file, as the header says. */
export function mergeRunSettings(
  file: AgentConfig,
  flags: {
    service?: string[];
    "allow-net"?: string[];
    "allow-loopback"?: boolean;
    "no-exec"?: boolean;
    "exec-allow"?: string[];
    "vm-bridge"?: string;
  },
): RunSettings {
  const flagServices = flags.service ?? [];
  const flagNames = new Set(flagServices.map((s) => s.slice(0, Math.max(s.indexOf("="), 0))));
  const fileServices = Object.entries(file.services)
    .filter(([name]) => !flagNames.has(name))
    .map(([name, target]) => `${name}=${target}`);
  const execFromFlags = flags["no-exec"] === true || (flags["exec-allow"] ?? []).length > 0;
  return {
    service: [...fileServices, ...flagServices],
    "allow-net": flags["allow-net"] ?? file["allow-net"] ?? [],
    "allow-loopback": flags["allow-loopback"] === true || file["allow-loopback"] === true,
    "no-exec": execFromFlags ? flags["no-exec"] === true : file["no-exec"] === true,
    "exec-allow": execFromFlags ? (flags["exec-allow"] ?? []) : (file["exec-allow"] ?? []),
    ...((flags["vm-bridge"] ?? file["vm-bridge"])
      ? { "vm-bridge": flags["vm-bridge"] ?? file["vm-bridge"] }
      : {}),
  };
}

function _bad(path: string, what: string): AgentError {
  return new AgentError(`${path}: ${what}`, "fix the file (see 'outpost-agent --help')", 2);
}

function _isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function _kind(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (_isTable(value)) return "a table";
  return typeof value === "string" ? `the string ${JSON.stringify(value)}` : String(value);
}
