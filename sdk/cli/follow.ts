// Following a deployment live (`outpost deploy … --cluster`, `outpost deploys show <id> -f`): the
// control plane drives it, the CLI only watches, so Ctrl-C detaches and says how to reattach. Output:
// on a terminal a per-host table redrawn in place; otherwise one line per host change; with --json one
// NDJSON event per change (`{"t":"host",…}`, then `{"t":"done",…}`).

import { escapeControlCharacters } from "../../schema/protocol/control-characters.ts";
import { OutpostConnectionError } from "../errors.ts";
import type { Outpost } from "../outpost.ts";
import { type Io, jsonLine } from "./output.ts";

type Deployment = Awaited<ReturnType<Outpost["deploys"]["get"]>>["deployment"];

const POLL_MS = 300;

/** How long a follower keeps asking through connection errors before it gives up. */
const UNREACHABLE_MS = 30_000;

/**
 * The deployment's view, asked again through connection errors for up to UNREACHABLE_MS: a poll is
 * idempotent, and one request that meets a keep-alive connection the server just closed, or a control
 * plane restarting, must not end a follow while the deployment goes on (the deploy bench met one
 * "fetch failed" in ~100 polls). Anything else (404, 401) is final at once.
 */
export async function getDeployment(client: Outpost, id: string): Promise<Deployment> {
  const since = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return (await client.deploys.get(id)).deployment;
    } catch (error) {
      if (!(error instanceof OutpostConnectionError) || Date.now() - since > UNREACHABLE_MS) throw error;
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
    }
  }
}

export async function watchDeployment(
  io: Io,
  client: Outpost,
  id: string,
  opts: { json: boolean; tty: boolean },
): Promise<Deployment> {
  const onInt = () => {
    io.err(`detached; the deployment goes on. Reattach with: outpost deploys show ${id} -f`);
    process.exit(0);
  };
  process.once("SIGINT", onInt);
  const seen = new Map<string, string>();
  let drawn = 0;
  const deadline = Date.now() + Number(process.env.OUTPOST_DEPLOY_WAIT_MS ?? 60 * 60_000);
  try {
    for (;;) {
      const deployment = await getDeployment(client, id);
      const changed = deployment.hosts.filter((h) => seen.get(h.host) !== `${h.status} ${h.message ?? ""}`);
      for (const h of changed) seen.set(h.host, `${h.status} ${h.message ?? ""}`);
      if (opts.json) {
        for (const h of changed)
          process.stdout.write(`${jsonLine({ t: "host", at: new Date().toISOString(), ...h })}\n`);
      } else if (opts.tty) {
        if (changed.length || drawn === 0) {
          const w = Math.max(4, ...deployment.hosts.map((h) => h.host.length));
          const lines = deployment.hosts.map(
            (h) => `${h.host.padEnd(w)}  ${h.status.padEnd(9)}  ${h.message ?? ""}`,
          );
          const text = [`${"HOST".padEnd(w)}  STATUS     MESSAGE`, ...lines]
            .map((l) => escapeControlCharacters(l))
            .join("\n");
          process.stdout.write(`${drawn ? `\x1b[${drawn}A\x1b[J` : ""}${text}\n`);
          drawn = lines.length + 1;
        }
      } else {
        for (const h of changed) io.out(`${h.host}: ${h.status}${h.message ? ` (${h.message})` : ""}`);
      }
      if (deployment.status !== "running" || Date.now() > deadline) {
        if (opts.json)
          process.stdout.write(
            `${jsonLine({ t: "done", id: deployment.id, status: deployment.status, message: deployment.message })}\n`,
          );
        return deployment;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    process.off("SIGINT", onInt);
  }
}
