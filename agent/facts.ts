// Host facts for hello (frames.ts HostFacts). Each is best effort: a fact the platform will not give
// is left out (the optional ones) or reported plainly, never a reason to fail the handshake. Text is
// cut to the lengths the frame allows, so hello always encodes.
import { statfs } from "node:fs/promises";
import * as os from "node:os";
import { type HostFacts, replaceControlCharacters } from "../schema/protocol/index.ts";
import { type ExecPolicy, execFacts } from "./exec/index.ts";
import type { Runtime } from "./runtime/index.ts";

export async function collectFacts(
  runtime: Pick<Runtime, "name" | "version" | "hostname">,
  stateDir: string,
  execPolicy?: ExecPolicy,
): Promise<HostFacts> {
  const facts: HostFacts = {
    hostname: _text(_try(() => runtime.hostname()) ?? _try(() => os.hostname()), 255) ?? "unknown",
    os:
      _text(
        _try(() => os.platform()),
        64,
      ) ?? "unknown",
    arch:
      _text(
        _try(() => os.arch()),
        64,
      ) ?? "unknown",
    cpus: _uint(_try(() => os.availableParallelism?.() ?? os.cpus().length)) ?? 0,
    memory: _uint(_try(() => os.totalmem())) ?? 0,
    runtime: runtime.name,
    runtimeVersion: _text(runtime.version, 64) ?? "unknown",
  };
  const kernel = _text(
    _try(() => os.release()),
    256,
  );
  if (kernel !== undefined) facts.kernel = kernel;
  const uptime = _uint(_try(() => os.uptime()));
  if (uptime !== undefined) facts.uptime = uptime;
  const disk = await _diskSize(stateDir);
  if (disk !== undefined) facts.disk = disk;
  if (execPolicy !== undefined) facts.exec = execFacts(execPolicy);
  return facts;
}

async function _diskSize(path: string): Promise<number | undefined> {
  try {
    const s = await statfs(path);
    return _uint(Number(s.blocks) * Number(s.bsize));
  } catch {
    return undefined;
  }
}

function _try<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

function _text(value: unknown, max: number): string | undefined {
  if (typeof value !== "string") return undefined;
  // The control plane refuses control characters in facts (4400): a hostname has none to lose.
  const clean = Array.from(replaceControlCharacters(value.replaceAll("\0", "")))
    .slice(0, max)
    .join("");
  return clean === "" ? undefined : clean;
}

function _uint(value: unknown): number | undefined {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) return undefined;
  return Math.min(Math.floor(value), Number.MAX_SAFE_INTEGER);
}
