// What a HostDO writes to the database about its streams and its agent: one sessions row per stream
// (its start beside the stream's audit event, its end once it is over) and the host's audit events.
// Nothing here is awaited where frames are relayed: a database round trip per stream, in the agent's
// frame queue, stalled every other stream of the host behind it (100 uploads ending together: seconds).
import { and, eq } from "drizzle-orm";
import { type SessionKind, sessions } from "../../../schema/db/tables.ts";
import type { TenantId } from "../../../schema/ids.ts";
import type { HostId } from "../../../schema/protocol/keys.ts";
import { audit, auditInsert } from "../../db/audit.ts";
import type { Database } from "../../db/database.ts";
import type { ClientAttachment, HostRecord } from "./attachments.ts";
import type { FailureSample } from "./failure-sampler.ts";

export interface SessionStart {
  hostId: HostId;
  /** What ran: the argv of an exec, the target of a tcp stream. */
  argv: string[];
  /** The audit action (`host.exec`, `host.tcp`) and what its event says besides the session id. */
  action: string;
  details: Record<string, unknown>;
  /** The session's kind when it is not the stream's (a tcp stream of a mesh route or an exposure). */
  kind?: SessionKind;
}

export interface SessionEnd {
  exitCode: number | null;
  signal: string | null;
  reason: string | null;
}

export class SessionLog {
  /** Session rows being written, so that a session's end is never written before its start. */
  readonly #writes = new Map<string, Promise<void>>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly db: () => Database,
  ) {}

  /**
   * Records a stream's start beside the stream, not before it: the process starts at once, and the
   * session's end is written only after its start (end waits for this).
   */
  start(c: ClientAttachment, s: SessionStart): void {
    if (c.fanout) return; // the fan-out's ClusterDO wrote it, with every other host's in one batch
    const db = this.db();
    const record = db
      .batch([
        db.insert(sessions).values({
          id: c.session,
          tenantId: c.tenantId,
          hostId: s.hostId,
          actor: c.actor,
          kind: s.kind ?? c.kind,
          argv: s.argv,
          startedAt: new Date(),
        }),
        auditInsert(db, {
          tenantId: c.tenantId,
          actor: c.actor,
          action: s.action,
          target: s.hostId,
          outcome: "allowed",
          details: { session: c.session, ...s.details },
        }),
      ])
      .then(
        () => {},
        (err: unknown) => console.error("HostDO could not record session", c.session, err),
      );
    this.#writes.set(c.session, record);
    this.ctx.waitUntil(record);
  }

  /** Records a stream's end in the background, after its start. */
  end(c: ClientAttachment, end: SessionEnd): void {
    if (c.fanout) return; // the fan-out's ClusterDO writes it, from the exit it relays
    const started = this.#writes.get(c.session) ?? Promise.resolve();
    this.#writes.delete(c.session);
    const endedAt = new Date();
    this.background(
      `session ${c.session} end`,
      started.then(() =>
        this.db()
          .update(sessions)
          .set({
            endedAt,
            exitCode: end.exitCode,
            signal: end.signal,
            endReason: end.reason,
            bytesIn: c.in,
            bytesOut: c.out,
          })
          .where(and(eq(sessions.id, c.session), eq(sessions.tenantId, c.tenantId))),
      ),
    );
  }

  /** An `outcome: denied` event in the host's name; a failed write is logged, never thrown. */
  async denied(
    tenantId: TenantId | null,
    hostId: string,
    action: string,
    reason: string,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    try {
      await audit(this.db(), {
        tenantId,
        actor: `host:${hostId}`,
        action,
        target: hostId,
        outcome: "denied",
        details: { reason, ...details },
      });
    } catch (err) {
      console.error("HostDO could not write an audit event", err);
    }
  }

  /** One sampled event standing for the failures before any hello was verified (failure-sampler.ts). */
  async sampled(host: HostRecord, s: FailureSample): Promise<void> {
    await this.denied(host.tenantId, host.id, s.action, s.reason, {
      close: s.close,
      sampled: true,
      count: s.count,
      closes: s.closes,
      since: s.since,
    });
  }

  /** A connection of `host` stepped aside for a newer one (`by`). */
  replaced(host: HostRecord, conn: string, by: string | undefined): void {
    this.background(
      "audit of a replaced connection",
      audit(this.db(), {
        tenantId: host.tenantId,
        actor: `host:${host.id}`,
        action: "agent.replaced",
        target: host.id,
        outcome: "allowed",
        details: { conn, ...(by ? { by } : {}) },
      }),
    );
  }

  /** Runs `work` past this event (waitUntil), logging a failure instead of failing the event. */
  background(what: string, work: PromiseLike<unknown>): void {
    this.ctx.waitUntil(
      Promise.resolve(work).then(
        () => {},
        (err: unknown) => console.error(`HostDO could not write ${what}`, err),
      ),
    );
  }
}
