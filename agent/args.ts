// Command-line parsing for the agent: `<command> [--flag value | --flag=value | --switch] …`. Small and
// strict: an unknown flag, a missing value or a stray argument is a usage error (exit 2).
import { LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN, NAME_PATTERN, NAME_RULE } from "../schema/names.ts";
import { usageError } from "./errors.ts";

export type FlagSpec = Record<string, "string" | "boolean">;

export type Flags<S extends FlagSpec> = {
  [K in keyof S]?: S[K] extends "string" ? string : boolean;
};

/** The flags of `argv` (the arguments after the command), as `spec` declares them. */
export function parseFlags<S extends FlagSpec>(command: string, argv: readonly string[], spec: S): Flags<S> {
  const flags: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw usageError(`${command}: unexpected argument '${arg}'`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (kind === undefined) throw usageError(`${command}: unknown option --${name}`);
    if (Object.hasOwn(flags, name)) throw usageError(`${command}: --${name} given twice`);
    if (kind === "boolean") {
      if (eq !== -1) throw usageError(`${command}: --${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq === -1 && value.startsWith("--"))) {
      throw usageError(`${command}: --${name} needs a value`);
    }
    flags[name] = value;
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
