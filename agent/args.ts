// Command-line parsing for the agent: `<command> [--flag value | --flag=value | --switch] …`, on
// node:util parseArgs as the CLI's (sdk/cli/command.ts; Bun and Deno both implement it), and as strict:
// an unknown flag, a missing value or a stray argument is a usage error (exit 2).
import { parseArgs } from "node:util";
import {
  LABEL_KEY_PATTERN,
  LABEL_VALUE_PATTERN,
  NAME_PATTERN,
  NAME_RULE,
  SERVICE_NAME_PATTERN as SERVICE_NAME,
} from "../schema/names.ts";
import { usageError } from "./errors.ts";
import { type Cidr, parseCidr, parseTarget, type Service } from "./policy/index.ts";

/** "string" once, "list" as often as given (in order), "boolean" a switch. */
export type FlagSpec = Record<string, "string" | "list" | "boolean">;

export type Flags<S extends FlagSpec> = {
  [K in keyof S]?: S[K] extends "string" ? string : S[K] extends "list" ? string[] : boolean;
};

/** The flags of `argv` (the arguments after the command), as `spec` declares them. */
export function parseFlags<S extends FlagSpec>(command: string, argv: readonly string[], spec: S): Flags<S> {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const [name, kind] of Object.entries(spec)) {
    options[name] = kind === "boolean" ? { type: "boolean" } : { type: "string", multiple: kind === "list" };
  }
  // Not strict: its errors would be node's wording, not ours, and it takes `--url --token` as a url.
  // The tokens say exactly what was given, in order, and each is checked below.
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const flags: Record<string, string | string[] | boolean> = {};
  for (const token of tokens) {
    if (token.kind === "positional") throw usageError(`${command}: unexpected argument '${token.value}'`);
    if (token.kind === "option-terminator") throw usageError(`${command}: unknown option --`);
    if (!token.rawName.startsWith("--")) {
      throw usageError(`${command}: unexpected argument '${argv[token.index]}'`);
    }
    const { name } = token;
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (kind === undefined) throw usageError(`${command}: unknown option --${name}`);
    if (kind !== "list" && Object.hasOwn(flags, name)) throw usageError(`${command}: --${name} given twice`);
    if (kind === "boolean") {
      if (token.inlineValue) throw usageError(`${command}: --${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const { value } = token;
    if (value === undefined || (!token.inlineValue && value.startsWith("--"))) {
      throw usageError(`${command}: --${name} needs a value`);
    }
    if (kind === "list") flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
    else flags[name] = value;
  }
  return flags as Flags<S>;
}

/** A required string flag. */
export function required(command: string, value: string | undefined, name: string): string {
  if (value === undefined || value === "") throw usageError(`${command}: --${name} is required`);
  return value;
}

/** `http(s)://host[:port][/path]` without a trailing slash, query or fragment. */
export function parseControlPlaneUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`--url: '${text}' is not a URL (expected https://<control plane>)`);
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.hostname === "") {
    throw usageError(`--url: '${text}' must be an http:// or https:// URL`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw usageError(`--url: '${text}' must not carry a query, fragment or credentials`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

export function parseName(text: string): string {
  if (!NAME_PATTERN.test(text)) throw usageError(`--name: '${text}' must be ${NAME_RULE}`);
  return text;
}

/** `k=v,k2=v2` → { k: "v", k2: "v2" }. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(",")) {
    if (pair.trim() === "") continue;
    const eq = pair.indexOf("=");
    const key = (eq === -1 ? pair : pair.slice(0, eq)).trim();
    const value = eq === -1 ? "" : pair.slice(eq + 1).trim();
    if (eq === -1 || !LABEL_KEY_PATTERN.test(key) || !LABEL_VALUE_PATTERN.test(value)) {
      throw usageError(`--labels: '${pair}' must be key=value (key like 'role' or 'example.com/tier')`);
    }
    if (Object.hasOwn(labels, key)) throw usageError(`--labels: '${key}' given twice`);
    labels[key] = value;
  }
  return labels;
}

/**
 * `--service name=address:port` (repeatable): a local service, which may point anywhere the owner
 * chose: `postgres=127.0.0.1:5432`, `db=db.internal:5432`, `web=[fd00::5]:80`, or `pg=5432` for
 * 127.0.0.1:5432.
 */
export function parseServices(values: readonly string[]): Service[] {
  const services: Service[] = [];
  for (const value of values) {
    const eq = value.indexOf("=");
    const name = value.slice(0, Math.max(eq, 0));
    const target = value.slice(eq + 1);
    if (eq === -1 || !SERVICE_NAME.test(name)) {
      throw usageError(
        `--service: '${value}' must be name=address:port, the name like 'postgres' (a-z, 0-9, . _ -)`,
      );
    }
    if (/^[0-9]+$/.test(target)) {
      const port = Number(target);
      if (target.startsWith("0") || port < 1 || port > 65535) {
        throw usageError(`--service ${name}: port '${target}' must be 1..65535`);
      }
    } else {
      try {
        parseTarget(target);
      } catch (error) {
        const why = (error as Error).message.replace(/^Cannot parse target: /, "");
        throw usageError(`--service ${name}: ${why}`);
      }
    }
    if (services.some((s) => s.name === name)) throw usageError(`--service: '${name}' given twice`);
    services.push({ name, target, source: "local" });
  }
  return services;
}

/** `--allow-net CIDR` (repeatable): networks API-added services may reach (`10.1.0.0/16`). */
export function parseAllowNets(values: readonly string[]): Cidr[] {
  return values.map((value) => {
    try {
      return parseCidr(value);
    } catch (error) {
      throw usageError(`--allow-net: ${(error as Error).message.replace(/^Cannot parse CIDR /, "")}`);
    }
  });
}
