import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseAppSpec, SpecError } from "../../../schema/apps/spec.ts";
import { parseDuration } from "../../../schema/names.ts";
import { parseSelectors } from "../../../schema/selectors.ts";
import { uploadArtifact } from "../../artifacts/index.ts";
import { OutpostApiError, OutpostConnectionError } from "../../errors.ts";
import type { Outpost } from "../../outpost.ts";
import { sealEnvForDeploy } from "../../secrets/index.ts";
import { type Command, JSON_OPTION, parse } from "../command.ts";
import { configDir } from "../config.ts";
import { getDeployment, watchDeployment } from "../follow.ts";
import { json } from "../output.ts";
import { progressBar } from "../progress.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost deploy <app> <dir|file.tar.gz> --to <host>.<cluster> [--spec FILE] [--json]
                      [--no-wait]
       outpost deploy <app> <dir|file.tar.gz> --cluster C [--site S] [-l SELECTOR]… [--canary N]
                      [--max-parallel M] [--host-timeout 10m] [--spec FILE] [--json] [--no-wait]

Ships an app: reads its outpost.toml (in the directory, or --spec), checks it before anything is sent,
packs the directory (honouring .outpostignore) and uploads it once (parts the control plane already has
are skipped), then deploys it as a new release to the host and follows it until the release is healthy
(exit 0) or refused (exit 1, with the health check's last output; the release before keeps serving).
A second deploy of an app while one runs is refused, naming the running one.

With --cluster it is a rollout over every host the selectors choose, driven by the control plane: the
--canary hosts first, then --max-parallel at a time (default 1). A host failing its health gate stops
the rollout and reverts the hosts already updated; a host that does not report within --host-timeout
(offline) fails alone and the rollout goes on. A per-host status table follows it (one line per change
when not on a terminal; NDJSON events with --json). Ctrl-C detaches; \`outpost deploys show <id> -f\`
reattaches.`;

/** outpost.toml from --spec, or from the directory being deployed. */
async function _specText(source: string, specFile: string | undefined): Promise<string> {
  const path = specFile ?? ((await stat(source)).isDirectory() ? join(source, "outpost.toml") : undefined);
  if (!path) throw new UsageError("a .tar.gz needs --spec <outpost.toml>", help);
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new UsageError(`cannot read ${path}`, help);
  }
}

/** Polls the deployment until it is settled; its final view. */
export async function followDeployment(client: Outpost, id: string, onChange?: (line: string) => void) {
  let last = "";
  const started = Date.now();
  const deadline = Date.now() + Number(process.env.OUTPOST_DEPLOY_WAIT_MS ?? 15 * 60_000);
  for (;;) {
    const deployment = await getDeployment(client, id);
    const line = deployment.hosts
      .map((h) => `${h.host}: ${h.status}${h.message ? ` (${h.message})` : ""}`)
      .join(", ");
    if (line !== last) onChange?.(line);
    last = line;
    if (deployment.status !== "running" || Date.now() > deadline) return deployment;
    // Often at first, when a deploy of an unchanged artifact settles within a second; then gently.
    await new Promise((r) => setTimeout(r, Date.now() < started + 10_000 ? 100 : 250));
  }
}

/** The `<host>.<cluster>` names a rollout will reach (for sealing env to them first). */
async function _clusterHosts(
  client: Outpost,
  cluster: string,
  site: string | undefined,
  selector: string[] | undefined,
): Promise<string[]> {
  const { hosts } = await client.hosts.list({
    cluster,
    ...(site ? { site } : {}),
    ...(selector?.length ? { selector: selector.join(",") } : {}),
  });
  return hosts.map((h) => h.fqdn);
}

export const deploy: Command = {
  name: "deploy",
  summary: "ship an app to a host as a new release",
  help,
  async run(ctx, args) {
    const { values, positionals } = parse(
      args,
      {
        ...JSON_OPTION,
        to: { type: "string" },
        cluster: { type: "string" },
        site: { type: "string" },
        selector: { type: "string", short: "l", multiple: true },
        canary: { type: "string" },
        "max-parallel": { type: "string" },
        "host-timeout": { type: "string" },
        spec: { type: "string" },
        "no-wait": { type: "boolean", default: false },
      },
      help,
    );
    if (positionals.length !== 2) throw new UsageError("expected <app> <dir|file.tar.gz>", help);
    if (!values.to === !values.cluster)
      throw new UsageError("give one of --to <host>.<cluster> or --cluster C", help);
    if (values.to && (values.site || values.selector || values.canary || values["max-parallel"]))
      throw new UsageError("--site, -l, --canary and --max-parallel go with --cluster", help);
    const count = (flag: "canary" | "max-parallel", min: number) => {
      const text = values[flag];
      if (text === undefined) return undefined;
      if (!/^\d{1,4}$/.test(text) || Number(text) < min)
        throw new UsageError(`--${flag} must be a whole number ≥ ${min}`, help);
      return Number(text);
    };
    const canary = count("canary", 0);
    const maxParallel = count("max-parallel", 1);
    const hostTimeoutMs = values["host-timeout"] ? parseDuration(values["host-timeout"]) : undefined;
    if (hostTimeoutMs === null || (hostTimeoutMs !== undefined && hostTimeoutMs < 1000))
      throw new UsageError("--host-timeout must be a duration of at least 1s, like 90s or 10m", help);
    if (values.selector?.length) {
      try {
        parseSelectors(values.selector);
      } catch (error) {
        throw new UsageError((error as Error).message, help);
      }
    }
    const [app, source] = positionals as [string, string];
    // OUTPOST_TRACE=1: when each step ended, on stderr (the deploy bench's per-phase rows read it).
    const t0 = performance.now();
    const trace = (what: string) => {
      if (ctx.env.OUTPOST_TRACE === "1")
        ctx.io.err(`trace: ${(performance.now() - t0).toFixed(0)} ms ${what}`);
    };
    const text = await _specText(source, values.spec);
    try {
      parseAppSpec(text, { name: app });
    } catch (error) {
      if (error instanceof SpecError) {
        ctx.io.err(`outpost: ${error.message}`);
        return 1;
      }
      throw error;
    }
    const client = ctx.client();
    try {
      const sealed = await sealEnvForDeploy(client, {
        app,
        hosts: values.to
          ? [values.to]
          : await _clusterHosts(client, values.cluster!, values.site, values.selector),
        configDir: configDir(ctx.env),
      });
      if (sealed.resealed.length && !values.json)
        ctx.io.out(`${app}: env sealed to ${sealed.resealed.join(", ")} with this machine's keeper key`);
    } catch (error) {
      if (error instanceof OutpostApiError || error instanceof OutpostConnectionError) throw error;
      ctx.io.err(`outpost: ${(error as Error).message}`);
      return 1;
    }
    trace("env checked");
    const bar = progressBar(`upload ${source}`, { json: values.json });
    let uploaded: Awaited<ReturnType<typeof uploadArtifact>>;
    try {
      uploaded = await uploadArtifact(client, source, {
        onHashed: () => trace("sha256"),
        onProgress: (sent, total) => bar.update(sent, total),
        hashCache: join(configDir(ctx.env), "hash-cache.json"),
      });
    } finally {
      bar.done();
    }
    trace(uploaded.existed ? "upload (nothing to send)" : `upload (${uploaded.partsSent} parts)`);
    const base = { spec: text, sha256: uploaded.sha256, size: uploaded.size };
    if (values.cluster) {
      const { deployment } = await client.apps.deploy(app, {
        ...base,
        cluster: values.cluster,
        ...(values.site ? { site: values.site } : {}),
        ...(values.selector?.length ? { selector: values.selector.join(",") } : {}),
        ...(canary !== undefined ? { canary } : {}),
        ...(maxParallel !== undefined ? { maxParallel } : {}),
        ...(hostTimeoutMs !== undefined ? { hostTimeoutMs } : {}),
      });
      if (!values.json)
        ctx.io.out(
          `${app}: release ${deployment.release} (${uploaded.sha256.slice(0, 12)}) rolling out over ${values.cluster} as ${deployment.id}`,
        );
      if (values["no-wait"]) return values.json ? json(ctx.io, deployment) : 0;
      const done = await watchDeployment(ctx.io, client, deployment.id, {
        json: values.json,
        tty: process.stdout.isTTY === true,
      });
      if (!values.json) {
        if (done.status === "succeeded") ctx.io.out(`${app}: ${done.message ?? "done"}`);
        else ctx.io.err(`outpost: ${app} rollout ${done.status}: ${done.message ?? "no message"}`);
      }
      return done.status === "succeeded" ? 0 : 1;
    }
    const to = values.to!;
    const { deployment } = await client.apps.deploy(app, { ...base, to });
    trace("deployment created");
    if (!values.json)
      ctx.io.out(`${app}: release ${deployment.release} (${uploaded.sha256.slice(0, 12)}) → ${to}`);
    if (values["no-wait"]) return values.json ? json(ctx.io, deployment) : 0;
    const done = await followDeployment(client, deployment.id, (line) => {
      trace(line);
      if (!values.json) ctx.io.out(line);
    });
    if (values.json) json(ctx.io, done);
    else if (done.status === "succeeded") ctx.io.out(`${app}: release ${done.release} is live on ${to}`);
    else
      ctx.io.err(`outpost: ${app} release ${done.release} ${done.status}: ${done.message ?? "no message"}`);
    return done.status === "succeeded" ? 0 : 1;
  },
};
