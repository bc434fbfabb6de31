// `outpost vm image push|ls|rm`: VM images (a kernel, maybe an initrd and a rootfs, and a command line)
// uploaded through the artifact path and named per tenant.

import { NAME_PATTERN, NAME_RULE } from "../../../schema/names.ts";
import { listVmImages, pushVmImage, removeVmImage } from "../../vm/index.ts";
import { type Context, JSON_OPTION, parse, subcommands } from "../command.ts";
import { json, table } from "../output.ts";
import { formatBytes, progressBar } from "../progress.ts";
import { UsageError } from "../usage-error.ts";

export const vmImageHelp = `usage: outpost vm image push <name> --kernel F [--initrd F] [--rootfs F] [--cmdline "…"] [--json]
       outpost vm image ls [--json]
       outpost vm image rm <name> [--json]

push packs the files into one artifact (with a manifest) and uploads it like a deploy does: in parts,
resuming an interrupted upload, nothing at all when the control plane has it already; then <name>
points at it (pushing a name again re-points it; VMs made from the old image keep theirs). Hosts fetch
an image when a VM needs it. A progress bar shows on a terminal (never with --json).
rm removes the name; the artifact and the VMs made from it stay.`;

async function push(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      ...JSON_OPTION,
      kernel: { type: "string" },
      initrd: { type: "string" },
      rootfs: { type: "string" },
      cmdline: { type: "string" },
    },
    vmImageHelp,
  );
  if (positionals.length !== 1) throw new UsageError("expected <name>", vmImageHelp);
  if (!values.kernel) throw new UsageError("--kernel F is required", vmImageHelp);
  const name = positionals[0]!;
  // Checked before anything is uploaded: the name goes into the route's path.
  if (!NAME_PATTERN.test(name))
    throw new UsageError(`image name '${name}' must be ${NAME_RULE}`, vmImageHelp);
  const bar = progressBar(`push ${name}`, { json: values.json });
  let result: Awaited<ReturnType<typeof pushVmImage>>;
  try {
    result = await pushVmImage(
      ctx.client(),
      name,
      {
        kernel: values.kernel,
        ...(values.initrd ? { initrd: values.initrd } : {}),
        ...(values.rootfs ? { rootfs: values.rootfs } : {}),
        ...(values.cmdline !== undefined ? { cmdline: values.cmdline } : {}),
      },
      { onProgress: (sent, total) => bar.update(sent, total) },
    );
  } finally {
    bar.done();
  }
  if (values.json) return json(ctx.io, result);
  const { upload } = result;
  const sent = upload.existed
    ? "stored already, nothing uploaded"
    : `${formatBytes(upload.bytesSent)} uploaded in ${upload.partsSent} part(s)`;
  ctx.io.out(
    `VM image ${name} is sha256:${upload.sha256.slice(0, 12)} (${formatBytes(upload.size)}; ${sent})`,
  );
  if (result.replaced && result.replaced !== upload.sha256)
    ctx.io.out(`it was sha256:${result.replaced.slice(0, 12)} before`);
  return 0;
}

async function ls(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, JSON_OPTION, vmImageHelp);
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, vmImageHelp);
  const page = await listVmImages(ctx.client());
  if (values.json) return json(ctx.io, { items: page.items });
  table(
    ctx.io,
    ["NAME", "SHA256", "CMDLINE", "PUSHED BY", "CREATED"],
    page.items.map((i) => [i.name, i.sha256.slice(0, 16), i.cmdline, i.by.name, i.createdAt]),
  );
  return 0;
}

async function rm(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, JSON_OPTION, vmImageHelp);
  if (positionals.length !== 1) throw new UsageError("expected <name>", vmImageHelp);
  const result = await removeVmImage(ctx.client(), positionals[0]!);
  if (values.json) return json(ctx.io, result);
  ctx.io.out(`VM image ${result.removed.name} removed (its artifact stays)`);
  return 0;
}

export const vmImage = subcommands(vmImageHelp, { push, ls, rm });
