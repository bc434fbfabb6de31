// `outpost job run|ls|show|cancel|logs`: queued jobs for hosts that may be offline now.
import { readFileSync } from "node:fs";
import { fromBase64 } from "../../../schema/protocol/base64.ts";
import { parseSelectors } from "../../../schema/selectors.ts";
import { type Command, JSON_OPTION, parse, subcommands } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost job run --cluster C [--site S] [-l SELECTOR]… [--ttl 24h] [--timeout 5m] [--include-new]
                       (-- <argv…> | --file steps.json) [--json]
       outpost job ls [--json]
       outpost job show <id> [--json]
       outpost job logs <id> [--host <host>.<cluster>]
       outpost job cancel <id>

A job runs its steps in order (stopping at the first that fails) once on every host of the cluster
that the selectors choose: now on hosts that are connected, and on the others when they next connect
within --ttl (default 24h, at most 7d); with --include-new also on hosts that enroll later with
matching labels. Each host runs it at most once, whatever happens (its agent records the job id on
its disk). --file takes JSON: {"steps": [["apt-get","update"], ["systemctl","restart","web"]]}.
Results keep each host's exit code, duration and the last 64 KiB of stdout and stderr. cancel
signals the running step (SIGTERM) and no later step starts.`;

function stepsFrom(file: string): string[][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new UsageError(`--file ${file}: ${(err as Error).message}`, help);
  }
  const steps = (parsed as { steps?: unknown })?.steps;
  if (
    !Array.isArray(steps) ||
    !steps.every((s) => Array.isArray(s) && s.every((a) => typeof a === "string"))
  ) {
    throw new UsageError(`--file ${file}: expected {"steps": [["argv", …], …]}`, help);
  }
  return steps as string[][];
}

async function run(ctx: Parameters<Command["run"]>[0], args: string[]) {
  const dash = args.indexOf("--");
  const { values, positionals } = parse(
    dash === -1 ? args : args.slice(0, dash),
    {
      ...JSON_OPTION,
      cluster: { type: "string" },
      site: { type: "string" },
      selector: { type: "string", short: "l", multiple: true },
      ttl: { type: "string" },
      timeout: { type: "string" },
      "include-new": { type: "boolean", default: false },
      file: { type: "string" },
    },
    help,
  );
  if (!values.cluster) throw new UsageError("missing --cluster", help);
  const argv = dash === -1 ? positionals : [...positionals, ...args.slice(dash + 1)];
  if (values.file && argv.length)
    throw new UsageError("give either --file or the argv after --, not both", help);
  const steps = values.file ? stepsFrom(values.file) : argv.length ? [argv] : undefined;
  if (!steps) throw new UsageError("nothing to run: give the command after -- or --file", help);
  try {
    if (values.selector?.length) parseSelectors(values.selector);
  } catch (err) {
    throw new UsageError(`-l: ${(err as Error).message}`, help);
  }
  const res = await ctx.client().jobs.run({
    cluster: values.cluster,
    steps,
    ...(values.selector?.length ? { selector: values.selector.join(",") } : {}),
    ...(values.site ? { site: values.site } : {}),
    ...(values.ttl ? { ttl: values.ttl } : {}),
    ...(values.timeout ? { timeout: values.timeout } : {}),
    ...(values["include-new"] ? { includeNew: true } : {}),
  });
  if (values.json) return json(ctx.io, res);
  ctx.io.out(
    `job ${res.job.id} queued for ${res.hosts} host(s) in ${res.job.cluster}, until ${res.job.expiresAt}`,
  );
  return 0;
}

export const job: Command = {
  name: "job",
  summary: "queued jobs: run once on matching hosts, now or when they reconnect",
  help,
  run: subcommands(help, {
    run,
    async ls(ctx, args) {
      const { values } = parse(args, JSON_OPTION, help);
      const res = await ctx.client().jobs.list();
      if (values.json)
        return json(ctx.io, { items: res.jobs, ...(res.nextCursor ? { nextCursor: res.nextCursor } : {}) });
      table(
        ctx.io,
        ["JOB", "CLUSTER", "SELECTOR", "STEPS", "HOSTS", "CREATED", "EXPIRES"],
        res.jobs.map((j) => [
          j.id,
          j.cluster,
          j.selector || "(all)",
          j.steps.map((s) => s.join(" ")).join(" && "),
          Object.entries(j.states)
            .map(([s, n]) => `${n} ${s}`)
            .join(", "),
          j.createdAt,
          j.cancelledAt ? "cancelled" : j.expiresAt,
        ]),
      );
      return 0;
    },
    async show(ctx, args) {
      const { values, positionals } = parse(args, JSON_OPTION, help);
      if (!positionals[0]) throw new UsageError("missing <id>", help);
      const res = await ctx.client().jobs.get(positionals[0]);
      if (values.json) return json(ctx.io, res);
      ctx.io.out(
        `job ${res.job.id} in ${res.job.cluster} (${res.job.selector || "all hosts"}), until ${res.job.expiresAt}`,
      );
      table(
        ctx.io,
        ["HOST", "STATE", "STEP", "EXIT", "DURATION", "FINISHED", "MESSAGE"],
        res.hosts.map((h) => [
          h.host,
          h.state,
          h.step,
          h.exitCode ?? h.signal,
          h.durationMs === null ? undefined : `${(h.durationMs / 1000).toFixed(2)}s`,
          h.finishedAt,
          h.message,
        ]),
      );
      return 0;
    },
    async logs(ctx, args) {
      const { values, positionals } = parse(args, { host: { type: "string" } }, help);
      if (!positionals[0]) throw new UsageError("missing <id>", help);
      const res = await ctx.client().jobs.logs(positionals[0], values.host);
      for (const log of res.logs) {
        // Output passes through raw, as exec's does; the headers are the CLI's own.
        process.stdout.write(`==> ${log.host} (${log.state}) <==\n`);
        process.stdout.write(fromBase64(log.stdout));
        const err = fromBase64(log.stderr);
        if (err.length) process.stderr.write(err);
      }
      return 0;
    },
    async cancel(ctx, args) {
      const { positionals } = parse(args, {}, help);
      if (!positionals[0]) throw new UsageError("missing <id>", help);
      const res = await ctx.client().jobs.cancel(positionals[0]);
      ctx.io.out(`job ${res.job.id} cancelled; ${res.signalled} running step(s) signalled`);
      return 0;
    },
  }),
};
