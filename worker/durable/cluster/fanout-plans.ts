// Fan-out plans between prepareFanout (the Worker's RPC) and the upgrade that runs them, in the
// ClusterDO's storage. A plan grows with its hosts (about 90 bytes each) and a Durable Object storage
// value holds at most 128 KiB (Cloudflare's Durable Objects limits: "Maximum value size"), so one value
// held 1,400 hosts at most, fewer with a long argv or env. A plan is kept as its JSON text cut into
// PLAN_CHUNK_CHARS pieces under `fanout:<id>:<n>`, with `fanout:<id>` saying how many there are: any
// cluster size fits, each piece well under the limit.
import type { FanoutPlan } from "./fanout.ts";

/** Characters per stored piece: 32 Ki UTF-16 code units are at most 64 KiB, half the value limit. */
const PLAN_CHUNK_CHARS = 32 * 1024;
/** Keys per storage call (put, get and delete take at most 128). */
const KEYS_PER_CALL = 128;

interface PlanHead {
  chunks: number;
}

function _chunkKey(id: string, n: number): string {
  return `fanout:${id}:${n}`;
}

function _batches<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += KEYS_PER_CALL) out.push(items.slice(i, i + KEYS_PER_CALL));
  return out;
}

/**
 * Stores `plan` under `id`: with its head in one transaction when the pieces fit one call (plans of
 * up to about 45,000 hosts), else the pieces first and then the head that makes the plan visible.
 */
export async function storePlan(storage: DurableObjectStorage, id: string, plan: FanoutPlan): Promise<void> {
  const text = JSON.stringify(plan);
  const chunks = Math.max(1, Math.ceil(text.length / PLAN_CHUNK_CHARS));
  const entries: Array<[string, string | PlanHead]> = [];
  for (let n = 0; n < chunks; n++)
    entries.push([_chunkKey(id, n), text.slice(n * PLAN_CHUNK_CHARS, (n + 1) * PLAN_CHUNK_CHARS)]);
  const head: [string, PlanHead] = [`fanout:${id}`, { chunks }];
  if (entries.length < KEYS_PER_CALL) {
    await storage.put(Object.fromEntries([...entries, head]));
    return;
  }
  for (const batch of _batches(entries)) await storage.put(Object.fromEntries(batch));
  await storage.put(head[0], head[1]);
}

/**
 * Takes the plan stored under `id` out of storage and returns it (undefined when there is none, or
 * it was taken already, or a piece is missing): every key of it is deleted before it is returned, so
 * a replayed upgrade finds nothing. Durable Object input gates keep a second upgrade from reading
 * between the reads and the delete.
 */
export async function takePlan(storage: DurableObjectStorage, id: string): Promise<FanoutPlan | undefined> {
  const head = await storage.get<PlanHead>(`fanout:${id}`);
  if (!head || !Number.isInteger(head.chunks) || head.chunks < 1) return undefined;
  const keys = Array.from({ length: head.chunks }, (_, n) => _chunkKey(id, n));
  let text = "";
  let whole = true;
  for (const batch of _batches(keys)) {
    const got = await storage.get<string>(batch);
    for (const k of batch) {
      const piece = got.get(k);
      if (typeof piece !== "string")
        whole = false; // never written whole: nothing to run
      else text += piece;
    }
  }
  // Head and pieces go in as few calls as they fit (one, for plans of up to about 45,000 hosts).
  for (const batch of _batches([`fanout:${id}`, ...keys])) await storage.delete(batch);
  return whole ? (JSON.parse(text) as FanoutPlan) : undefined;
}
