// Whether the host's agent is alive: the alarm closes an agent socket that has not finished its
// handshake and stayed silent for HANDSHAKE_TIMEOUT_MS (deadlineOf), or has been silent for HEARTBEAT_MISSES heartbeat intervals
// (the rule the agent applies to us, schema/protocol/limits.ts), and writes the sampled failures of
// unauthenticated connections (failure-sampler.ts). Liveness counts a frame's arrival, not its
// processing: a busy host with frames queued in the object is not silent.
//
// A heartbeat writes nothing to the database: while a host is connected its liveness is this object's
// (the socket's attachment), and the row changes only when presence does: online at a hello that
// finds it otherwise (agent-link.ts), offline here when the last ready connection goes. Writing
// last_seen every 30 s cost 333 writes/s at 10,000 hosts, every one of them waiting for the
// database's one writer (README "Fleet scale"); for an online host "last seen" is now.
import { eq } from "drizzle-orm";
import { hosts } from "../../../schema/db/tables.ts";
import { CloseCode, HANDSHAKE_TIMEOUT_MS, HEARTBEAT_MISSES } from "../../../schema/protocol/index.ts";
import type { Database } from "../../db/database.ts";
import type { Bindings } from "../../env.ts";
import type { AgentAttachment, Attachments, HostRecord } from "./attachments.ts";
import { FailureSampler } from "./failure-sampler.ts";
import { heartbeatMs } from "./heartbeat.ts";
import type { SessionLog } from "./session-log.ts";

/**
 * When agent socket `a` is due to close. A connection still in its handshake is held to
 * HANDSHAKE_TIMEOUT_MS of the agent's silence only: once any message arrived (its hello, queued behind
 * other work in a busy object, or being checked), the handshake's own outcome decides (ready, or a
 * close with the reason), and until then the heartbeat rule applies to it as to a ready connection.
 * Closing a hello that came in time only because the object had not got to it yet made the agent dial
 * again, which lengthened the very queue that delayed it (README "Fleet scale").
 */
export function deadlineOf(a: AgentAttachment, lastArrival: number | undefined, heartbeat: number): number {
  const seen = Math.max(a.seen, lastArrival ?? 0);
  const heard = lastArrival !== undefined || a.verified === true;
  if (a.phase === "challenged" && !heard) return a.since + HANDSHAKE_TIMEOUT_MS;
  return seen + HEARTBEAT_MISSES * heartbeat;
}

export class Liveness {
  /** When each agent socket's latest message arrived (before it is opened and checked). */
  readonly #arrivals = new Map<string, number>();
  /** Failures before a hello is verified, written as sampled audit events. */
  readonly #failures = new FailureSampler();
  /** Offline writes begun by this object, and the latest one's completion (hellos wait for it). */
  #offlineWrites = 0;
  #offlinePending: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Bindings,
    private readonly att: Attachments,
    private readonly db: () => Database,
    private readonly log: SessionLog,
  ) {}

  get heartbeatMs(): number {
    return heartbeatMs(this.env);
  }

  /** A message arrived on the agent connection `conn`. */
  arrived(conn: string): void {
    this.#arrivals.set(conn, Date.now());
  }

  forget(conn: string): void {
    this.#arrivals.delete(conn);
  }

  /** The connection is ready: its first heartbeat deadline. */
  async readyAt(now: number): Promise<void> {
    await this.ensureAlarm(now + HEARTBEAT_MISSES * this.heartbeatMs);
  }

  /** The host's last ready connection is gone: it is offline, last seen when its last frame came. */
  async offline(host: HostRecord, a: AgentAttachment): Promise<void> {
    this.#offlineWrites++;
    const write = this.db()
      .update(hosts)
      .set({ status: "offline", lastSeenAt: new Date(a.seen) })
      .where(eq(hosts.id, host.id))
      .then(() => {});
    this.#offlinePending = write.catch(() => {});
    await write;
  }

  /**
   * For a hello, which reads the row and writes it only if presence changed: the offline writes begun
   * so far (compared after ready, see agent-link.ts), once every one of them has landed.
   */
  async offlineSettled(): Promise<number> {
    const writes = this.#offlineWrites;
    await this.#offlinePending;
    return writes;
  }

  /** Offline writes begun since `before` (offlineSettled's count). */
  offlineSince(before: number): boolean {
    return this.#offlineWrites !== before;
  }

  /** Counts a failure of an unauthenticated connection; its sampled event is written by the alarm. */
  async sampleFailure(action: string, reason: string, close: number): Promise<void> {
    await this.ensureAlarm(this.#failures.record(action, reason, close, Date.now()));
  }

  /** Handshake deadlines, heartbeat liveness of the agent sockets, and the sampled failures. */
  async alarm(
    host: HostRecord | undefined,
    close: (ws: WebSocket, code: number, why: string) => Promise<void>,
  ): Promise<void> {
    const now = Date.now();
    const hb = this.heartbeatMs;
    const sample = this.#failures.take(now);
    if (sample && host) await this.log.sampled(host, sample);
    let next = this.#failures.dueAt() ?? Number.POSITIVE_INFINITY;
    for (const ws of this.ctx.getWebSockets("agent")) {
      const a = this.att.get(ws) as AgentAttachment;
      const arrival = this.#arrivals.get(a.conn);
      const deadline = deadlineOf(a, arrival, hb);
      if (now < deadline) {
        next = Math.min(next, deadline);
        continue;
      }
      const why =
        a.phase === "challenged" && arrival === undefined
          ? "no hello within the handshake timeout"
          : "heartbeats stopped";
      await close(ws, CloseCode.TIMEOUT, why);
    }
    if (next !== Number.POSITIVE_INFINITY) await this.ctx.storage.setAlarm(next);
  }

  async ensureAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
