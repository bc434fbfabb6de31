// Queued jobs at the host's end (frames.ts `job`, `job.result`, `job.cancel`; capability 7): every job
// of this host that has no result yet goes to the agent when it is ready and whenever one is created,
// and again on every later connect until its result is in. Redelivery is harmless by design: the agent
// runs each job id at most once (agent/action-ledger.ts) and answers a repeat with the result it kept,
// so a lost result, a reconnect or this object's eviction never runs a job twice. Results are written
// only into this host's own rows, and only over a state that is not final yet: a hostile agent can
// report on its own jobs, never on another host's, and never rewrite a result once it is in.
import { and, eq, gt, inArray, isNull } from "drizzle-orm";
import { jobHosts, jobs } from "../../../schema/db/tables.ts";
import type { JobId } from "../../../schema/ids.ts";
import { toBase64 } from "../../../schema/protocol/base64.ts";
import type { JobResultFrame } from "../../../schema/protocol/frames.ts";
import type { Database } from "../../db/database.ts";
import type { AgentLink } from "./agent-link.ts";
import type { AgentAttachment, Attachments, HostRecord } from "./attachments.ts";

/** The capability that brought jobs (frames.ts). */
const JOBS_CAPABILITY = 7;

export class JobDelivery {
  constructor(
    private readonly db: () => Database,
    private readonly link: AgentLink,
    private readonly att: Attachments,
  ) {}

  /** Sends the ready agent `ws` every job of `host` still without a result; how many. */
  async deliver(ws: WebSocket, host: HostRecord): Promise<number> {
    if (((this.att.get(ws) as AgentAttachment).cap ?? 0) < JOBS_CAPABILITY) return 0;
    const rows = await this.db()
      .select({ id: jobs.id, steps: jobs.steps, expiresAt: jobs.expiresAt, timeoutMs: jobs.timeoutMs })
      .from(jobHosts)
      .innerJoin(jobs, eq(jobHosts.jobId, jobs.id))
      .where(
        and(
          eq(jobHosts.hostId, host.id),
          inArray(jobHosts.state, ["queued", "running"]),
          isNull(jobs.cancelledAt),
          gt(jobs.expiresAt, new Date()),
        ),
      );
    for (const r of rows) {
      this.link.send(ws, {
        t: "job",
        job: r.id,
        steps: r.steps,
        expires: r.expiresAt.getTime(),
        ...(r.timeoutMs ? { timeout: r.timeoutMs } : {}),
      });
    }
    return rows.length;
  }

  /** Tells the ready agent to stop `job` (whether it runs there or not: the agent knows). */
  cancel(ws: WebSocket, job: JobId): boolean {
    if (((this.att.get(ws) as AgentAttachment).cap ?? 0) < JOBS_CAPABILITY) return false;
    this.link.send(ws, { t: "job.cancel", job });
    return true;
  }

  /** The agent's report on one of its jobs. */
  async result(host: HostRecord, frame: JobResultFrame): Promise<void> {
    const mine = and(eq(jobHosts.jobId, frame.job as JobId), eq(jobHosts.hostId, host.id));
    if (frame.state === "running") {
      await this.db()
        .update(jobHosts)
        .set({ state: "running", startedAt: new Date() })
        .where(and(mine, eq(jobHosts.state, "queued")));
      return;
    }
    const now = Date.now();
    await this.db()
      .update(jobHosts)
      .set({
        state: frame.state,
        step: frame.step ?? null,
        exitCode: frame.code ?? null,
        signal: frame.signal ?? null,
        message: frame.message ?? null,
        durationMs: frame.durationMs ?? null,
        stdoutTail: toBase64(frame.stdout ?? new Uint8Array()),
        stderrTail: toBase64(frame.stderr ?? new Uint8Array()),
        finishedAt: new Date(now),
      })
      .where(and(mine, inArray(jobHosts.state, ["queued", "running"])));
  }
}
