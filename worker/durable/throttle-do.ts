// ThrottleDO — one Durable Object per thing that failed authentication is counted against (a client
// address, an API key's or enrollment token's prefix, an exposure's links): a fixed window that opens
// at the first failure, counts failures against an allowance, and at its end writes ONE audit event
// with the count it stands for, so a flood of wrong credentials writes a row per window, not per try.
//
// Why a Durable Object and not the platform's Rate Limiting binding ([[ratelimits]], `limit({ key })`):
// the binding only counts-and-answers, so asking it whether an address is over its allowance counts one
// more attempt, and refusing an over-limit caller before its credential is checked (no oracle) would
// mean counting every request, successes too, which throttles busy honest clients; it keeps no count
// to put in an audit event; and it is per Cloudflare location and eventually consistent, so a guesser
// spread over many locations gets the allowance once per location. One object per subject is exact and
// global; its cost is one object call per authenticated request (run beside the database lookup).
import { DurableObject } from "cloudflare:workers";
import type { TenantId } from "../../schema/ids.ts";
import { audit } from "../db/audit.ts";
import { openDatabase } from "../db/database.ts";
import type { Bindings } from "../env.ts";

/** The allowance and window the caller applies (the Worker's throttle.ts owns the numbers). */
export interface ThrottleRule {
  limit: number;
  windowMs: number;
}

/** One refused credential, and whom the window's audit event is about. */
export interface ThrottleFailure {
  /** Why it was refused, tallied per reason in the audit event ("wrong API key", …). */
  reason: string;
  /** What was asked (`GET /v1/clusters`); the event keeps the last. */
  action: string;
  /** The client address it came from (client-address.ts). */
  address: string;
  tenantId: TenantId | null;
  actor: string;
  target: string | null;
}

interface Window {
  start: number;
  ends: number;
  limit: number;
  /** Refused credentials, counted against the limit. */
  failures: number;
  /** Attempts turned away while over the limit, their credential never checked. */
  refused: number;
  reasons: Record<string, number>;
  lastAction: string;
  /** Distinct addresses seen, at most MAX_ADDRESSES of them. */
  addresses: string[];
  about: Pick<ThrottleFailure, "tenantId" | "actor" | "target">;
}

/** Enough to see whether an attack is one client or many, bounded so the event stays small. */
const MAX_ADDRESSES = 16;

export class ThrottleDO extends DurableObject<Bindings> {
  /** Seconds the caller must wait before its credential is looked at again; 0 when it may go on. */
  async check(): Promise<number> {
    const now = Date.now();
    const window = await this.#current(now);
    if (!window || window.failures < window.limit) return 0;
    window.refused += 1;
    await this.ctx.storage.put("window", window);
    return secondsLeft(window, now);
  }

  /** Counts a refused credential; seconds to wait when this one went over the limit, else 0. */
  async fail(rule: ThrottleRule, failure: ThrottleFailure): Promise<number> {
    const now = Date.now();
    let window = await this.#current(now);
    if (!window) {
      window = {
        start: now,
        ends: now + rule.windowMs,
        limit: rule.limit,
        failures: 0,
        refused: 0,
        reasons: {},
        lastAction: failure.action,
        addresses: [],
        about: { tenantId: failure.tenantId, actor: failure.actor, target: failure.target },
      };
      const alarm = await this.ctx.storage.getAlarm();
      // An earlier alarm still has a closed window to write; it sets this window's alarm after that.
      if (alarm === null || alarm > window.ends) await this.ctx.storage.setAlarm(window.ends);
    }
    window.failures += 1;
    window.reasons[failure.reason] = (window.reasons[failure.reason] ?? 0) + 1;
    window.lastAction = failure.action;
    if (window.addresses.length < MAX_ADDRESSES && !window.addresses.includes(failure.address)) {
      window.addresses.push(failure.address);
    }
    await this.ctx.storage.put("window", window);
    return window.failures > window.limit ? secondsLeft(window, now) : 0;
  }

  /** Writes the audit event of every window that has ended, then waits for the open one's end. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const open = await this.#current(now);
    const closed = (await this.ctx.storage.get<Window[]>("closed")) ?? [];
    const db = openDatabase(this.env);
    // A failed write throws, and the platform retries the alarm: the events are written at least once.
    for (const window of closed) {
      await audit(db, {
        tenantId: window.about.tenantId,
        actor: window.about.actor,
        action: "auth.failures",
        target: window.about.target,
        outcome: "denied",
        details: {
          count: window.failures + window.refused,
          failures: window.failures,
          refused: window.refused,
          limit: window.limit,
          reasons: window.reasons,
          lastAction: window.lastAction,
          addresses: window.addresses,
          from: new Date(window.start).toISOString(),
          to: new Date(window.ends).toISOString(),
        },
      });
    }
    await this.ctx.storage.delete("closed");
    if (open) await this.ctx.storage.setAlarm(open.ends);
  }

  /** The open window, after moving one that has ended to the list its alarm writes out. */
  async #current(now: number): Promise<Window | undefined> {
    const window = await this.ctx.storage.get<Window>("window");
    if (!window || window.ends > now) return window;
    const closed = (await this.ctx.storage.get<Window[]>("closed")) ?? [];
    await this.ctx.storage.put("closed", [...closed, window]);
    await this.ctx.storage.delete("window");
    return undefined;
  }
}

function secondsLeft(window: Window, now: number): number {
  return Math.max(1, Math.ceil((window.ends - now) / 1000));
}
