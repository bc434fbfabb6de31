// A fan-out exec, run by the ClusterDO (schema/protocol/fanout-events.ts): one client socket, and an
// exec stream on each selected host's HostDO, at most `maxParallel` open at once. Each per-host exec is
// an ordinary client stream of the HostDO (its session, its credit, its policy on the agent), opened
// with the caller's tenant and actor, so revoking the caller's key ends these too. The ClusterDO is the
// client there: it grants each host credit back only while the fan-out client has acknowledged all but
// FANOUT_WINDOW bytes, so memory here stays bounded by the window whatever the hosts send.
import type { TenantId } from "../../../schema/ids.ts";
import { toBase64Url } from "../../../schema/protocol/base64.ts";
import {
  decodeServerFrame,
  encodeStreamFrame,
  type ServerToClient,
} from "../../../schema/protocol/client-frames.ts";
import type { ExecSpec } from "../../../schema/protocol/exec-spec.ts";
import {
  decodeFanoutClientMessage,
  FANOUT_WINDOW,
  type FanoutEvent,
} from "../../../schema/protocol/fanout-events.ts";
import { DEFAULT_STREAM_CREDIT } from "../../../schema/protocol/limits.ts";
import type { Bindings } from "../../env.ts";
import { openOnHost } from "../stubs.ts";
import type { FanoutAudit, FanoutSessions, SessionEndRow } from "./fanout-sessions.ts";

/** What the Worker checked and chose (routes/fanout.ts): the ClusterDO only runs it. */
export interface FanoutPlan {
  tenantId: TenantId;
  actor: string;
  spec: ExecSpec;
  maxParallel: number;
  hosts: Array<{ id: string; fqdn: string; online: boolean }>;
  /** The fan-out's one audit event (`cluster.exec`), written with the sessions (fanout-sessions.ts). */
  audit: FanoutAudit;
}

/** Extra time past the command's own timeout (which the agent enforces) before the relay gives up. */
const TIMEOUT_GRACE_MS = 10_000;

export class FanoutRun {
  readonly #client: WebSocket;
  readonly #env: Bindings;
  readonly #plan: FanoutPlan;
  readonly #sessions: FanoutSessions;
  readonly #open = new Set<WebSocket>();
  /** Credit owed to each host stream, granted once the client catches up. */
  readonly #owed = new Map<WebSocket, number>();
  #unacked = 0;
  #stopped = false;

  constructor(client: WebSocket, env: Bindings, plan: FanoutPlan, sessions: FanoutSessions) {
    this.#client = client;
    this.#env = env;
    this.#plan = plan;
    this.#sessions = sessions;
    client.addEventListener("message", (ev) => this.#fromClient(ev.data));
    client.addEventListener("close", () => this.stop());
    client.addEventListener("error", () => this.stop());
  }

  /** Runs every host, records the sessions' ends, then says done and closes. */
  async run(): Promise<void> {
    const recorded = this.#sessions.start(this.#plan.audit, this.#plan.spec.argv).then(
      () => true,
      (err: unknown) => {
        console.error("fan-out could not be recorded", err);
        this.stop(1011, "the fan-out could not be recorded, so it was stopped; try again");
        return false;
      },
    );
    try {
      await this.#runAll();
    } finally {
      // Nothing is done before it is recorded; the ends are written after the client is told.
      const ok = await recorded;
      const ends = this.#sessions.finish(this.#stopped ? "fan-out stopped" : "not run");
      if (ok && !this.#stopped) {
        this.#emit({ t: "done" });
        try {
          this.#client.close(1000, "done");
        } catch {}
      }
      await ends;
    }
  }

  async #runAll(): Promise<void> {
    const { hosts } = this.#plan;
    this.#emit({
      t: "plan",
      hosts: hosts.map((h) => h.fqdn),
      offline: hosts.filter((h) => !h.online).map((h) => h.fqdn),
    });
    let next = 0;
    const worker = async () => {
      while (!this.#stopped && next < hosts.length) {
        const h = hosts[next++]!;
        await this.#runOne(h);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#plan.maxParallel, hosts.length) }, worker));
  }

  /** The client went (Ctrl-C) or broke the protocol: every running exec is dropped, none starts. */
  stop(code = 1000, reason = "stopped"): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const ws of this.#open) {
      try {
        ws.close(1000, "fan-out stopped");
      } catch {}
    }
    this.#open.clear();
    try {
      this.#client.close(code, reason);
    } catch {}
  }

  async #runOne(h: FanoutPlan["hosts"][number]): Promise<void> {
    const started = Date.now();
    const ended = (end: Omit<SessionEndRow, "bytesOut">, bytesOut = 0) =>
      this.#sessions.end(h.id, { ...end, bytesOut });
    const failed = (code: string, message: string) => {
      ended({ exitCode: null, signal: null, reason: message });
      this.#emit({ t: "failed", host: h.fqdn, code, message, durationMs: Date.now() - started });
    };
    const session = this.#sessions.of(h.id);
    if (!h.online || !session)
      return failed("host_offline", `${h.fqdn} is offline: its agent is not connected`);
    let res: Response;
    try {
      res = await openOnHost(this.#env, h.id, {
        kind: "exec",
        spec: { ...this.#plan.spec, credit: DEFAULT_STREAM_CREDIT },
        tenantId: this.#plan.tenantId,
        actor: this.#plan.actor,
        hostName: h.fqdn,
        fanout: { session },
      });
    } catch (err) {
      return failed("relay_failed", `the host's relay failed: ${err instanceof Error ? err.message : err}`);
    }
    const ws = res.webSocket;
    if (res.status !== 101 || !ws) {
      const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      return failed(
        body.error?.code ?? "refused",
        body.error?.message ?? `the host's relay answered ${res.status}`,
      );
    }
    if (this.#stopped) {
      ws.accept();
      ws.close(1000, "fan-out stopped");
      return;
    }
    ws.accept();
    this.#open.add(ws);
    let bytes = 0;
    await new Promise<void>((resolve) => {
      let settled = false;
      const settle = (event?: FanoutEvent) => {
        if (settled) return;
        settled = true;
        ended(
          event?.t === "exit"
            ? { exitCode: event.code, signal: event.signal ?? null, reason: null }
            : {
                exitCode: null,
                signal: null,
                reason: event?.t === "failed" ? event.message : "fan-out stopped",
              },
          bytes,
        );
        clearTimeout(timer);
        this.#open.delete(ws);
        this.#owed.delete(ws);
        if (event && !this.#stopped) this.#emit(event);
        try {
          ws.close(1000);
        } catch {}
        resolve();
      };
      const limit = this.#plan.spec.timeout;
      const timer = setTimeout(
        () =>
          settle({
            t: "failed",
            host: h.fqdn,
            code: "timeout",
            message: `no exit within ${limit} ms`,
            durationMs: Date.now() - started,
          }),
        limit ? limit + TIMEOUT_GRACE_MS : 2 ** 31 - 1,
      );
      // workerd hands a fetched socket's binary messages over as Blobs: read in arrival order.
      let inbox = Promise.resolve();
      ws.addEventListener("message", (ev) => {
        const data = ev.data as unknown;
        inbox = inbox.then(async () => onMessage(data instanceof Blob ? await data.arrayBuffer() : data));
      });
      const onMessage = (data: unknown) => {
        if (settled) return;
        let frame: ServerToClient;
        try {
          if (!(data instanceof ArrayBuffer)) throw new TypeError("the host's stream sent a text message");
          frame = decodeServerFrame(new Uint8Array(data));
        } catch (err) {
          settle({
            t: "failed",
            host: h.fqdn,
            code: "bad_frame",
            message: String(err instanceof Error ? err.message : err),
            durationMs: Date.now() - started,
          });
          return;
        }
        switch (frame.t) {
          case "started":
            this.#emit({ t: "started", host: h.fqdn, session: frame.session });
            return;
          case "stdout":
          case "stderr":
            bytes += frame.data.length;
            this.#unacked += frame.data.length;
            this.#emit({ t: frame.t, host: h.fqdn, data: toBase64Url(frame.data) });
            this.#owe(ws, frame.data.length);
            return;
          case "exit":
            settle({
              t: "exit",
              host: h.fqdn,
              code: frame.code,
              ...(frame.signal ? { signal: frame.signal } : {}),
              durationMs: Date.now() - started,
              bytes,
            });
            return;
          case "error":
            settle({
              t: "failed",
              host: h.fqdn,
              code: frame.code,
              message: frame.message,
              durationMs: Date.now() - started,
            });
            return;
          default:
            return; // credit for stdin, which a fan-out never sends
        }
      };
      ws.addEventListener("close", () =>
        settle(
          this.#stopped
            ? undefined
            : {
                t: "failed",
                host: h.fqdn,
                code: "stream_closed",
                message: "the host's stream closed before the exit",
                durationMs: Date.now() - started,
              },
        ),
      );
    });
  }

  /** Credit for `bytes` the host sent goes back now if the client is within its window, else later. */
  #owe(ws: WebSocket, bytes: number): void {
    this.#owed.set(ws, (this.#owed.get(ws) ?? 0) + bytes);
    if (this.#unacked <= FANOUT_WINDOW) this.#flush();
  }

  #flush(): void {
    for (const [ws, bytes] of this.#owed) {
      if (bytes <= 0) continue;
      try {
        ws.send(encodeStreamFrame({ t: "credit", bytes }));
      } catch {}
      this.#owed.set(ws, 0);
    }
  }

  #fromClient(data: unknown): void {
    try {
      if (typeof data !== "string") throw new TypeError("the fan-out stream takes JSON text");
      const msg = decodeFanoutClientMessage(data);
      this.#unacked = Math.max(0, this.#unacked - msg.bytes);
      if (this.#unacked <= FANOUT_WINDOW) this.#flush();
    } catch {
      this.stop();
    }
  }

  #emit(event: FanoutEvent): void {
    try {
      this.#client.send(JSON.stringify(event));
    } catch {
      this.stop();
    }
  }
}
