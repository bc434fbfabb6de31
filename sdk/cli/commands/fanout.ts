// `outpost exec --cluster C [--site S] [-l SEL]… [--max-parallel N] [--timeout 30s] [--out-dir D]
// [--json] -- argv`: one command on many hosts, run server-side by the cluster's ClusterDO. Output is
// prefixed with each host's name, pdsh style (`web01.prod: line`), or goes to one file per host and
// stream (--out-dir), or is one JSON object per event (--json); a summary table ends it. Exit 0 only
// when every host exited 0.
import { once } from "node:events";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { fromBase64Url } from "../../../schema/protocol/base64.ts";
import type { FanoutEvent } from "../../../schema/protocol/fanout-events.ts";
import { parseSelectors } from "../../../schema/selectors.ts";
import type { Context } from "../command.ts";
import { jsonLine, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

export interface FanoutFlags {
  cluster: string;
  site?: string;
  selector?: string[];
  "max-parallel"?: string;
  timeout?: number;
  "out-dir"?: string;
  json?: boolean;
  cwd?: string;
  env?: Record<string, string>;
}

interface Outcome {
  host: string;
  status: "ok" | "failed" | "offline" | "running" | "pending" | "stopped";
  exit?: number | null;
  signal?: string;
  durationMs?: number;
  bytes: number;
  why?: string;
}

/** Writes chunks as whole lines prefixed with the host; the unfinished line waits for its end. */
class Prefixer {
  readonly #partial = new Map<string, string>();
  constructor(readonly to: NodeJS.WriteStream) {}
  write(host: string, text: string): boolean {
    const lines = ((this.#partial.get(host) ?? "") + text).split("\n");
    this.#partial.set(host, lines.pop()!);
    if (lines.length === 0) return true;
    return this.to.write(lines.map((l) => `${host}: ${l}\n`).join(""));
  }
  flush(host: string): void {
    const rest = this.#partial.get(host);
    this.#partial.delete(host);
    if (rest) this.to.write(`${host}: ${rest}\n`);
  }
}

export async function runFanout(
  ctx: Context,
  argv: string[],
  flags: FanoutFlags,
  help: string,
): Promise<number> {
  if (argv.length === 0) throw new UsageError("nothing to run: give the command after --", help);
  let selector: string | undefined;
  try {
    // Parsed here too, so a typo is a usage error naming the position before any request.
    if (flags.selector?.length) {
      parseSelectors(flags.selector);
      selector = flags.selector.join(",");
    }
  } catch (err) {
    throw new UsageError(`-l: ${(err as Error).message}`, help);
  }
  let maxParallel: number | undefined;
  if (flags["max-parallel"] !== undefined) {
    maxParallel = Number(flags["max-parallel"]);
    if (!Number.isInteger(maxParallel) || maxParallel < 1 || maxParallel > 256) {
      throw new UsageError(`--max-parallel '${flags["max-parallel"]}' is not a number 1-256`, help);
    }
  }
  const outDir = flags["out-dir"];
  if (outDir) mkdirSync(outDir, { recursive: true });
  const run = ctx.client().fanout(flags.cluster, argv, {
    ...(selector ? { selector } : {}),
    ...(flags.site ? { site: flags.site } : {}),
    ...(maxParallel ? { maxParallel } : {}),
    ...(flags.timeout ? { timeout: flags.timeout } : {}),
    ...(flags.cwd ? { cwd: flags.cwd } : {}),
    ...(flags.env ? { env: flags.env } : {}),
  });
  const outcomes = new Map<string, Outcome>();
  const files = new Map<string, WriteStream>();
  const prefixed = { stdout: new Prefixer(process.stdout), stderr: new Prefixer(process.stderr) };
  const decoder = new Map<string, TextDecoder>();
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    run.close();
  };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigint);
  const line = (event: object) => process.stdout.write(`${jsonLine(event)}\n`);
  try {
    for await (const event of run.events) {
      if (flags.json) {
        if (event.t === "stdout" || event.t === "stderr") {
          const bytes = fromBase64Url(event.data);
          line({ event: event.t, host: event.host, data: new TextDecoder().decode(bytes) });
          run.ack(bytes.length);
        } else if (event.t !== "done") line({ event: event.t, ...strip(event) });
        record(outcomes, event);
        continue;
      }
      if (event.t === "stdout" || event.t === "stderr") {
        const bytes = fromBase64Url(event.data);
        let drained: boolean;
        if (outDir) {
          const key = `${event.host}.${event.t}`;
          let file = files.get(key);
          if (!file) {
            file = createWriteStream(join(outDir, key));
            files.set(key, file);
          }
          drained = file.write(bytes);
          if (!drained) await once(file, "drain");
        } else {
          const key = `${event.host}\0${event.t}`;
          const d = decoder.get(key) ?? new TextDecoder();
          decoder.set(key, d);
          drained = prefixed[event.t].write(event.host, d.decode(bytes, { stream: true }));
          if (!drained) await once(prefixed[event.t].to, "drain");
        }
        run.ack(bytes.length);
      } else if (event.t === "exit" || event.t === "failed") {
        prefixed.stdout.flush(event.host);
        prefixed.stderr.flush(event.host);
      }
      record(outcomes, event);
    }
  } catch (err) {
    if (!interrupted) throw err;
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
    await Promise.all([...files.values()].map((f) => new Promise((r) => f.end(r))));
  }
  const rows = [...outcomes.values()];
  if (interrupted)
    for (const o of rows) if (o.status === "running" || o.status === "pending") o.status = "stopped";
  if (flags.json) {
    line({ event: "summary", items: rows.map(summaryItem) });
  } else {
    table(
      ctx.io,
      ["HOST", "STATUS", "EXIT", "DURATION", "BYTES"],
      rows.map((o) => [
        o.host,
        o.why ? `${o.status} (${o.why})` : o.status,
        o.exit ?? o.signal,
        o.durationMs === undefined ? undefined : `${(o.durationMs / 1000).toFixed(2)}s`,
        o.bytes,
      ]),
    );
  }
  if (interrupted) return 130;
  return rows.length > 0 && rows.every((o) => o.status === "ok" && o.exit === 0) ? 0 : 1;
}

function record(outcomes: Map<string, Outcome>, event: FanoutEvent): void {
  switch (event.t) {
    case "plan":
      for (const host of event.hosts) outcomes.set(host, { host, status: "pending", bytes: 0 });
      return;
    case "started":
      outcomes.set(event.host, { host: event.host, status: "running", bytes: 0 });
      return;
    case "exit":
      outcomes.set(event.host, {
        host: event.host,
        status: "ok",
        exit: event.code,
        ...(event.signal ? { signal: event.signal } : {}),
        durationMs: event.durationMs,
        bytes: event.bytes,
      });
      return;
    case "failed":
      outcomes.set(event.host, {
        host: event.host,
        status: event.code === "host_offline" ? "offline" : "failed",
        durationMs: event.durationMs,
        bytes: 0,
        ...(event.code === "host_offline" ? {} : { why: event.message }),
      });
      return;
    default:
      return;
  }
}

function summaryItem(o: Outcome) {
  return {
    host: o.host,
    status: o.status,
    exitCode: o.exit ?? null,
    ...(o.signal ? { signal: o.signal } : {}),
    durationMs: o.durationMs ?? null,
    bytes: o.bytes,
    ...(o.why ? { message: o.why } : {}),
  };
}

function strip(event: FanoutEvent): Record<string, unknown> {
  const { t: _t, ...rest } = event;
  return rest;
}
