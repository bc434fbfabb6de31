// The agent's latest `report` (frames.ts, capability 5): what it actually uses, as it says. Kept in the
// object's storage, so it survives eviction and a reconnect; a new report replaces it whole. A malformed
// one never gets here (the link refuses the frame, 4400), so the previous one stays. It is the agent's
// word, shown as such: its strings were bounded and checked for control characters when decoded.
import type { HostReport } from "../../../schema/protocol/index.ts";

export interface StoredReport {
  report: HostReport;
  /** When the HostDO received it, ms since the epoch. */
  receivedAt: number;
  /** 1, 2, …: which report of this host it is (a clock in a Durable Object may stand still). */
  n: number;
}

const KEY = "agent-report";
const POLL_MS = 50;

export class AgentReports {
  #cached: StoredReport | undefined;

  constructor(private readonly storage: DurableObjectStorage) {}

  async save(report: HostReport): Promise<void> {
    const before = this.#cached ?? (await this.storage.get<StoredReport>(KEY));
    const stored = { report, receivedAt: Date.now(), n: (before?.n ?? 0) + 1 };
    await this.storage.put(KEY, stored);
    this.#cached = stored;
  }

  /** The latest report; with `after` (an `n`), one newer than that, waiting up to `waitMs` for it. */
  async latest(after?: number, waitMs = 0): Promise<StoredReport | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      this.#cached ??= await this.storage.get<StoredReport>(KEY);
      const current = this.#cached;
      if (after === undefined || (current !== undefined && current.n > after)) return current;
      if (Date.now() >= deadline) return current;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}
