import { join } from "node:path";
import { listArtifacts, uploadArtifact } from "../../artifacts/index.ts";
import { type Command, JSON_OPTION, parse, subcommands } from "../command.ts";
import { configDir } from "../config.ts";
import { json, table } from "../output.ts";
import { formatBytes, progressBar } from "../progress.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost artifact push <dir|file.tar.gz> [--ignore-file NAME] [--json]
       outpost artifact ls [--limit N] [--cursor C] [--json]

push packs a directory into a deterministic tar.gz (leaving out what its .outpostignore names, in
gitignore syntax), or takes a .tar.gz as it is, and uploads it once: in parts, resuming an upload
that was interrupted, and skipping it when the control plane has it already. The control plane checks
its sha256 before storing it. A progress bar shows on a terminal (never with --json).
ls lists the tenant's artifacts.`;

export const artifact: Command = {
  name: "artifact",
  summary: "upload (push) and list artifacts: app bundles, VM images",
  help,
  run: subcommands(help, {
    async push(ctx, args) {
      const { values, positionals } = parse(
        args,
        { ...JSON_OPTION, "ignore-file": { type: "string" } },
        help,
      );
      if (positionals.length !== 1) throw new UsageError("expected <dir|file.tar.gz>", help);
      const source = positionals[0]!;
      const bar = progressBar(`push ${source}`, { json: values.json });
      let result: Awaited<ReturnType<typeof uploadArtifact>>;
      try {
        result = await uploadArtifact(ctx.client(), source, {
          onProgress: (sent, total) => bar.update(sent, total),
          hashCache: join(configDir(ctx.env), "hash-cache.json"),
          ...(values["ignore-file"] ? { ignoreFile: values["ignore-file"] } : {}),
        });
      } finally {
        bar.done();
      }
      if (values.json) return json(ctx.io, result);
      const what = `artifact ${result.sha256.slice(0, 12)} (${formatBytes(result.size)})`;
      ctx.io.out(
        result.existed
          ? `${what} is stored already; nothing to upload`
          : `${what} uploaded: ${result.partsSent} part(s), ${formatBytes(result.bytesSent)} sent`,
      );
      ctx.io.out(`sha256:${result.sha256}`);
      return 0;
    },
    async ls(ctx, args) {
      const { values, positionals } = parse(
        args,
        { ...JSON_OPTION, limit: { type: "string" }, cursor: { type: "string" } },
        help,
      );
      if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, help);
      const limit = values.limit ? Number(values.limit) : undefined;
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0 && limit <= 500))
        throw new UsageError("--limit must be an integer 1-500", help);
      const page = await listArtifacts(ctx.client(), {
        ...(limit ? { limit } : {}),
        ...(values.cursor ? { cursor: values.cursor } : {}),
      });
      if (values.json) return json(ctx.io, page);
      table(
        ctx.io,
        ["SHA256", "SIZE", "UPLOADED BY", "CREATED"],
        page.items.map((a) => [a.sha256.slice(0, 16), formatBytes(a.size), a.createdBy, a.createdAt]),
      );
      if (page.nextCursor) ctx.io.out(`more: --cursor ${page.nextCursor}`);
      return 0;
    },
  }),
};
