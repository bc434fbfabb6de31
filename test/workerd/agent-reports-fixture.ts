// A Durable Object holding the HostDO's AgentReports (worker/durable/host/agent-reports.ts): the latest
// agent report in storage, numbered, and the brief wait `service add` does for a newer one.
import { DurableObject } from "cloudflare:workers";
import type { HostReport } from "../../schema/protocol/index.ts";
import { AgentReports, type StoredReport } from "../../worker/durable/host/agent-reports.ts";

export class AgentReportsFixture extends DurableObject {
  #reports = new AgentReports(this.ctx.storage);

  async save(report: HostReport): Promise<void> {
    await this.#reports.save(report);
  }

  /** `save` after `delayMs`, not awaited: a report that arrives while someone waits. */
  async saveLater(report: HostReport, delayMs: number): Promise<void> {
    this.ctx.waitUntil(new Promise((r) => setTimeout(r, delayMs)).then(() => this.#reports.save(report)));
  }

  async latest(after?: number, waitMs?: number): Promise<StoredReport | undefined> {
    return this.#reports.latest(after, waitMs);
  }

  /** A new AgentReports over the same storage, as after an eviction: nothing cached. */
  async evict(): Promise<void> {
    this.#reports = new AgentReports(this.ctx.storage);
  }
}
