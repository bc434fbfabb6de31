import { once } from "node:events";
import type { LogsStream } from "../../streams/logs.ts";
import { type Command, parse } from "../command.ts";
import { json, jsonLine } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost logs <app> [--host <host>.<cluster>] [-f] [-n N] [--since 10m|ISO] [--json]

An app's captured output, read on the host it runs on: the last N lines (-n, default 10) of its
stdout and of its stderr, printed as the app wrote them (its stdout to stdout, its stderr to
stderr). -f goes on with what the app writes next until Ctrl-C. --since keeps only output written
since a time (ISO 8601) or for a duration back (10m, 2h, 7d); the files carry no timestamps, so
this goes by when each file was last written. An app that runs on several hosts needs --host.

--json prints {"items": [{"host", "stream", "line"}]} (with -f: one such object per line as it
comes). Needs the operator role: an app's output can hold what only operators may see.`;

const options = {
  host: { type: "string" },
  follow: { type: "boolean", short: "f", default: false },
  lines: { type: "string", short: "n" },
  since: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

async function pipe(stream: ReadableStream<Uint8Array>, to: NodeJS.WriteStream): Promise<void> {
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    if (!to.write(chunk)) await once(to, "drain");
  }
}

/** Splits a byte stream into lines (the last one even without its newline). */
async function eachLine(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    rest += decoder.decode(chunk, { stream: true });
    const parts = rest.split("\n");
    rest = parts.pop() ?? "";
    for (const line of parts) onLine(line);
  }
  rest += decoder.decode();
  if (rest) onLine(rest);
}

export const logs: Command = {
  name: "logs",
  summary: "print (and follow) an app's output",
  help,
  async run(ctx, args) {
    const { values, positionals } = parse(args, options, help);
    if (positionals.length !== 1) throw new UsageError("expected <app>", help);
    const app = positionals[0]!;
    let lines: number | undefined;
    if (values.lines !== undefined) {
      lines = Number(values.lines);
      if (!/^\d+$/.test(values.lines) || lines > 100_000)
        throw new UsageError(`-n '${values.lines}' is not a number of lines 0-100000`, help);
    }
    const stream = ctx.client().logs(app, {
      ...(values.host ? { host: values.host } : {}),
      ...(lines !== undefined ? { lines } : {}),
      ...(values.follow ? { follow: true } : {}),
      ...(values.since ? { since: values.since } : {}),
    });
    let interrupted = false;
    const stop = () => {
      interrupted = true;
      stream.close();
    };
    process.on("SIGINT", stop);
    try {
      await stream.session; // a refusal (unknown app, several hosts) is reported before any output
      if (values.json) return await asJson(ctx, stream, values.host ?? null, values.follow);
      await Promise.all([
        pipe(stream.stdout, process.stdout),
        pipe(stream.stderr, process.stderr),
        stream.ended,
      ]);
      return 0;
    } catch (error) {
      if (interrupted) return 0; // Ctrl-C is how -f ends
      throw error;
    } finally {
      process.off("SIGINT", stop);
    }
  },
};

async function asJson(
  ctx: Parameters<Command["run"]>[0],
  stream: LogsStream,
  host: string | null,
  follow: boolean,
): Promise<number> {
  const items: Array<{ host: string | null; stream: "stdout" | "stderr"; line: string }> = [];
  const take = (which: "stdout" | "stderr") => (line: string) => {
    const item = { host, stream: which, line };
    if (follow) ctx.io.out(jsonLine(item));
    else items.push(item);
  };
  await Promise.all([
    eachLine(stream.stdout, take("stdout")),
    eachLine(stream.stderr, take("stderr")),
    stream.ended,
  ]);
  if (!follow) json(ctx.io, { items });
  return 0;
}
