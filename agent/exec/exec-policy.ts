// What exec the host's owner allows, from the agent's own flags, so that a control plane (or whoever
// holds it) cannot run just anything here. Exec is the widest thing a control plane can ask for: a
// process with the agent's user, its files and its network, which the TCP target policy does not see
// (`curl http://10.0.0.5/` reaches what `--allow-net` refused). So the owner may turn it off
// (`--no-exec`) or allow only argv that starts with a listed prefix (`--exec-allow`, repeatable).
//
// A prefix is written either as words separated by single spaces, `systemctl status`, with no quoting
// (a quote or backslash in it is refused, so nobody mistakes it for shell syntax), or as a JSON array of
// strings, `["grep","-c","two words"]`, for items that hold spaces (no item may hold a control
// character: the list is reported in host facts, which refuse them). Matching is on whole argv items: the
// program exactly as the control plane names it (no PATH lookup: `systemctl` allows `systemctl`, not
// `/usr/bin/systemctl` nor `systemctl2`), then each further item exactly; more items may follow the
// prefix. A listed program is a bare name (looked up on the agent's PATH) or an absolute path; a
// relative path is refused, since it would mean whatever the exec's working directory holds. Under an
// allowlist an exec may not set environment variables: PATH, LD_PRELOAD, GIT_* or PAGER can make an
// allowed program run another.

import {
  type ExecFacts,
  findControlCharacter,
  MAX_EXEC_ALLOW_ENTRIES,
  MAX_EXEC_ARG_TEXT,
  MAX_EXEC_PREFIX_ITEMS,
} from "../../schema/protocol/index.ts";
import { usageError } from "../errors.ts";
import { _quote } from "../policy/_quote.ts";

export type ExecPolicy = { mode: "any" } | { mode: "off" } | { mode: "allowlist"; allow: string[][] };

/** The policy of `--no-exec` and the `--exec-allow` values; a usage error for a malformed prefix. */
export function parseExecPolicy(noExec: boolean, allow: readonly string[]): ExecPolicy {
  if (noExec && allow.length > 0) throw usageError("--no-exec and --exec-allow exclude each other");
  if (noExec) return { mode: "off" };
  if (allow.length === 0) return { mode: "any" };
  if (allow.length > MAX_EXEC_ALLOW_ENTRIES) {
    throw usageError(`--exec-allow: at most ${MAX_EXEC_ALLOW_ENTRIES} prefixes, got ${allow.length}`);
  }
  return { mode: "allowlist", allow: allow.map(_parsePrefix) };
}

/**
 * Why `open` may not run under `policy`, one line for the operator starting "exec refused:" (it reaches
 * the client as the stream's close reason), or undefined when it may.
 */
export function execRefusal(
  policy: ExecPolicy,
  open: { argv: readonly string[]; env?: Record<string, string> },
): string | undefined {
  if (policy.mode === "any") return undefined;
  if (policy.mode === "off") {
    return "exec refused: this host's agent runs with --no-exec; ask its owner";
  }
  const { argv } = open;
  const listed = policy.allow.some(
    (prefix) => prefix.length <= argv.length && prefix.every((item, i) => argv[i] === item),
  );
  if (!listed) {
    const shown = argv.slice(0, 4).map(_quote).join(" ") + (argv.length > 4 ? " ..." : "");
    const allowed = policy.allow.map((p) => p.map(_quote).join(" ")).join(", ");
    return `exec refused: ${shown} is not in this host's exec allowlist (--exec-allow); allowed: ${allowed}`.slice(
      0,
      1000,
    );
  }
  if (open.env !== undefined && Object.keys(open.env).length > 0) {
    return "exec refused: this host allows only listed commands, and those may not set environment variables (they could make an allowed program run another); run it without --env";
  }
  return undefined;
}

/** The policy as hello's facts report it (capability 4). */
export function execFacts(policy: ExecPolicy): ExecFacts {
  return policy.mode === "allowlist" ? { mode: "allowlist", allow: policy.allow } : { mode: policy.mode };
}

function _parsePrefix(text: string): string[] {
  const items = text.startsWith("[") ? _jsonItems(text) : _words(text);
  if (items.length > MAX_EXEC_PREFIX_ITEMS) {
    throw usageError(`--exec-allow ${_quote(text)}: at most ${MAX_EXEC_PREFIX_ITEMS} items`);
  }
  for (const item of items) {
    const control = findControlCharacter(item);
    if (item === "" || item.length > MAX_EXEC_ARG_TEXT || control !== undefined) {
      throw usageError(
        `--exec-allow ${_quote(text)}: each item must be 1..${MAX_EXEC_ARG_TEXT} characters without control characters`,
      );
    }
  }
  const program = items[0]!;
  if (program.includes("/") && !program.startsWith("/")) {
    throw usageError(
      `--exec-allow ${_quote(text)}: the program must be a bare name (found on PATH) or an absolute path, not ${_quote(program)}`,
    );
  }
  return items;
}

function _words(text: string): string[] {
  if (!/^[^\s"'\\]+(?: [^\s"'\\]+)*$/.test(text)) {
    throw usageError(
      `--exec-allow ${_quote(text)}: write a prefix as words separated by single spaces, without quotes or backslashes (like 'systemctl status'), or as a JSON array of strings (like '["grep","-c","two words"]')`,
    );
  }
  return text.split(" ");
}

function _jsonItems(text: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw usageError(`--exec-allow ${_quote(text)}: not a JSON array of strings`);
  }
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === "string")) {
    throw usageError(`--exec-allow ${_quote(text)}: must be a non-empty JSON array of strings`);
  }
  return value as string[];
}
