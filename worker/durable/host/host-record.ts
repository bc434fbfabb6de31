// The host a HostDO serves, as its own storage remembers it: read from storage once per object
// lifetime, from the database once per connection (after the hello's signature) or for a connect to
// an id the object does not know yet. Connects are unauthenticated, so an unknown id is remembered for
// a window and a revoked host is refused from this record, without a database read per attempt.
import { eq } from "drizzle-orm";
import { hosts } from "../../../schema/db/tables.ts";
import type { HostId } from "../../../schema/protocol/keys.ts";
import type { Database } from "../../db/database.ts";
import type { HostRecord } from "./attachments.ts";
import { SAMPLE_WINDOW_MS } from "./failure-sampler.ts";

export class HostRecords {
  #record: HostRecord | undefined;
  /** Until when this object's host id is known not to exist (a cache: spares a read per attempt). */
  #unknownUntil = 0;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly db: () => Database,
  ) {}

  /** The record, read from storage once per object lifetime (written by remember and markGone). */
  async get(): Promise<HostRecord | undefined> {
    this.#record ??= await this.storage.get<HostRecord>("host");
    return this.#record;
  }

  /** The record if it was read already: for the relay's hot paths, which never wait for storage. */
  get loaded(): HostRecord | undefined {
    return this.#record;
  }

  /**
   * The host, for a connect to `hostId`: from memory or storage when known, else read once from the
   * database; undefined when no such host exists.
   */
  async known(hostId: HostId): Promise<HostRecord | undefined> {
    const known = await this.get();
    if (known?.id === hostId) return known;
    if (Date.now() < this.#unknownUntil) return undefined;
    const [row] = await this.db().select().from(hosts).where(eq(hosts.id, hostId)).limit(1);
    if (!row) {
      this.#unknownUntil = Date.now() + SAMPLE_WINDOW_MS;
      return undefined;
    }
    return this.remember(row);
  }

  /** Reads the host's row again (the one read per connection); undefined when it was deleted. */
  async refresh(hostId: HostId): Promise<typeof hosts.$inferSelect | undefined> {
    const [row] = await this.db().select().from(hosts).where(eq(hosts.id, hostId));
    if (row) await this.remember(row);
    return row;
  }

  /** Keeps `row` as this object's host record, writing storage only when it changed. */
  async remember(row: typeof hosts.$inferSelect): Promise<HostRecord> {
    const record: HostRecord = {
      id: row.id,
      tenantId: row.tenantId,
      clusterId: row.clusterId,
      name: row.name,
      publicKey: row.publicKey,
      ...(row.revokedAt ? { revoked: "revoked" as const } : {}),
    };
    const known = await this.get();
    if (JSON.stringify(known) !== JSON.stringify(record)) await this.storage.put("host", record);
    this.#record = record;
    return record;
  }

  /** The host was revoked or deleted: every connect is refused from now on. */
  async markGone(reason: "revoked" | "deleted"): Promise<void> {
    const host = await this.get();
    if (!host) return;
    this.#record = { ...host, revoked: reason };
    await this.storage.put("host", this.#record);
  }
}
