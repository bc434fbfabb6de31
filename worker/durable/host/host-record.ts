// The host a HostDO serves, as its own storage remembers it: read from storage once per object
// lifetime, from the database once per connection (after the hello's signature) or for a connect to
// an id the object does not know yet. Connects are unauthenticated, so an unknown id is remembered for
// a window and a revoked host is refused from this record, without a database read per attempt.
// A hello reads the row again only when the record's copy is older than HOST_ROW_FRESH_MS or the host
// went offline since: a reconnect (a control-plane restart, a replaced connection) costs no database
// round trip. What can change the row behind the object's back cannot skip a check: revocation and
// deletion reach the object at once (the Worker's disconnect RPC, markGone), and the key, tenant and
// cluster a host has never change after enrollment.
import { eq } from "drizzle-orm";
import { hosts } from "../../../schema/db/tables.ts";
import type { HostId } from "../../../schema/protocol/keys.ts";
import type { Database } from "../../db/database.ts";
import type { HostPresence, HostRecord } from "./attachments.ts";
import { SAMPLE_WINDOW_MS } from "./failure-sampler.ts";

/** How long a read of the host's row stands in for the hello's read. */
const HOST_ROW_FRESH_MS = 60_000;

type HostRow = typeof hosts.$inferSelect;

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

  /**
   * The host's presence for a hello (the one read per connection): the record's copy while it is
   * fresh and the host was not revoked or deleted, else the row read again (undefined: deleted, or
   * revoked, which is then remembered).
   */
  async presence(
    hostId: HostId,
    now = Date.now(),
  ): Promise<(HostPresence & { revoked: boolean }) | undefined> {
    const known = await this.get();
    if (known?.id === hostId && known.revoked) return undefined;
    const checked = known?.id === hostId ? known.checked : undefined;
    if (checked && now - checked.at >= 0 && now - checked.at < HOST_ROW_FRESH_MS)
      return { ...checked, revoked: false };
    const row = await this.refresh(hostId);
    return row && { ..._presenceOf(row), revoked: row.revokedAt !== null };
  }

  /** Reads the host's row again; undefined when it was deleted. */
  async refresh(hostId: HostId): Promise<HostRow | undefined> {
    const [row] = await this.db().select().from(hosts).where(eq(hosts.id, hostId));
    if (row) await this.remember(row);
    return row;
  }

  /** The row's presence columns as the hello just wrote them: the copy stays as fresh as it was. */
  async wrote(presence: HostPresence): Promise<void> {
    const host = await this.get();
    if (!host?.checked) return;
    this.#record = { ...host, checked: { ...presence, at: host.checked.at } };
    await this.storage.put("host", this.#record);
  }

  /** The host went offline (liveness.ts wrote it): the next hello reads the row again. */
  async wentOffline(): Promise<void> {
    const host = await this.get();
    if (!host?.checked) return;
    const { checked: _, ...rest } = host;
    this.#record = rest;
    await this.storage.put("host", this.#record);
  }

  /** Keeps `row` as this object's host record, writing storage only when it changed. */
  async remember(row: HostRow): Promise<HostRecord> {
    const record: HostRecord = {
      id: row.id,
      tenantId: row.tenantId,
      clusterId: row.clusterId,
      name: row.name,
      publicKey: row.publicKey,
      ...(row.revokedAt
        ? { revoked: "revoked" as const }
        : { checked: { ..._presenceOf(row), at: Date.now() } }),
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
    const { checked: _, ...rest } = host;
    this.#record = { ...rest, revoked: reason };
    await this.storage.put("host", this.#record);
  }
}

function _presenceOf(row: HostRow): HostPresence {
  return { status: row.status, agentVersion: row.agentVersion, runtime: row.runtime, facts: row.facts };
}
