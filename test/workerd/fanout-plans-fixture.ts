// A Durable Object holding fan-out plans as the ClusterDO does (worker/durable/cluster/fanout-plans.ts),
// with a look at what its storage holds: the plan's pieces and their sizes.
import { DurableObject } from "cloudflare:workers";
import type { FanoutPlan } from "../../worker/durable/cluster/fanout.ts";
import { storePlan, takePlan } from "../../worker/durable/cluster/fanout-plans.ts";

export class FanoutPlansFixture extends DurableObject {
  async store(id: string, plan: FanoutPlan): Promise<void> {
    await storePlan(this.ctx.storage, id, plan);
  }

  async take(id: string): Promise<FanoutPlan | undefined> {
    return takePlan(this.ctx.storage, id);
  }

  /** Every stored value's key and its size in bytes as JSON (UTF-8). */
  async sizes(): Promise<Array<{ key: string; bytes: number }>> {
    const all = await this.ctx.storage.list();
    return [...all].map(([key, v]) => ({ key, bytes: new TextEncoder().encode(JSON.stringify(v)).length }));
  }

  /** A piece removed behind the plan's back, as a half-written plan would lack it. */
  async dropPiece(key: string): Promise<void> {
    await this.ctx.storage.delete(key);
  }
}
