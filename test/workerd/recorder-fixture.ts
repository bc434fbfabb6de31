// A Durable Object that records a terminal session the way the HostDO's pty kind does
// (worker/recordings/recorder.ts), into the test's R2 bucket, driven step by step over RPC.
import { DurableObject } from "cloudflare:workers";
import type { SessionId, TenantId } from "../../schema/ids.ts";
import { Recorder, type RecordingState } from "../../worker/recordings/index.ts";

const TENANT = "tenant_aaaaaaaaaaaaaaaa" as TenantId;

export class RecorderFixture extends DurableObject<Cloudflare.Env> {
  #recorder: Recorder | undefined;
  #saved: RecordingState | undefined;
  #writes: Promise<unknown>[] = [];

  /** A new recorder for `session` (from `state`, as after an eviction, or fresh), capped at `maxBytes`. */
  async start(session: string, maxBytes: number, state?: RecordingState): Promise<void> {
    this.#recorder = new Recorder(
      state ?? { at: Date.now(), cols: 80, rows: 24, term: "xterm", parts: 0, bytes: 0 },
      {
        bucket: this.env.ARTIFACTS,
        tenantId: TENANT,
        session: session as SessionId,
        save: (s) => {
          this.#saved = s;
        },
        background: (_what, work) => {
          this.#writes.push(work);
          this.ctx.waitUntil(work);
        },
        maxBytes,
      },
    );
  }

  async output(text: string): Promise<void> {
    this.#recorder!.output(new TextEncoder().encode(text));
  }

  async resize(cols: number, rows: number): Promise<void> {
    this.#recorder!.resize(cols, rows);
  }

  /** Ends the recording and waits until everything is written. */
  async finish(): Promise<void> {
    this.#recorder!.finish();
    await this.settled();
  }

  async settled(): Promise<void> {
    while (this.#writes.length) await Promise.allSettled(this.#writes.splice(0));
  }

  /** The state last saved (what the attachment would hold). */
  async saved(): Promise<RecordingState | undefined> {
    return this.#saved;
  }

  /** Every object in the bucket for `session`: key → text. */
  async objects(session: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const prefix of [`recordings/${TENANT}/${session}`, `uploads/recordings/${TENANT}/${session}/`]) {
      const page = await this.env.ARTIFACTS.list({ prefix });
      for (const o of page.objects) out[o.key] = await (await this.env.ARTIFACTS.get(o.key))!.text();
    }
    return out;
  }
}
