// What the fleet bench (scripts/bench/fleet-bench.ts) showed and what was fixed, each where it can fail:
// a heartbeat writes nothing to libSQL, nor does a reconnect that changes nothing (the herd after a
// control-plane restart), while one that does change presence still writes it; a fan-out plan larger
// than one Durable Object storage value runs end to end (local workerd does not enforce the 128 KiB
// limit, so the test that fails without the pieces is test/workerd/fanout-plans.test.ts); the local
// libSQL server does not fsync every commit.
// Writes are counted with SQLite's own `PRAGMA data_version`, read on a connection of this test's own
// to the real database file: it moves whenever any other connection commits a change.
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import Database from "libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { hosts } from "../schema/db/tables.ts";
import { parseId } from "../schema/ids.ts";
import { CloseCode } from "../schema/protocol/index.ts";
import { newHostId, parseHostKey } from "../schema/protocol/keys.ts";
import type { Outpost } from "../sdk/index.ts";
import { eventually } from "./harness/agent.ts";
import { enrollIdentity, type Identity, RawAgent } from "./harness/raw-agent.ts";
import { type Stack, startStack } from "./harness/stack.ts";

let stack: Stack;
let client: Outpost;
let tenantId: string;
let file: Database.Database;

beforeAll(async () => {
  stack = await startStack();
  const t = await stack.tenantInProd("fleet-scale");
  client = t.client;
  tenantId = t.id;
  file = new Database(join(stack.dir, "outpost.db"));
}, 60_000);
afterAll(async () => {
  file?.close();
  await stack?.close();
});

/** Commits by every other connection since the last call move this number. */
function dataVersion(): number {
  return Number((file.prepare("PRAGMA data_version").get() as { data_version: number }).data_version);
}

async function hostRow(id: string) {
  const db = createClient({ url: stack.dbUrl });
  try {
    const res = await db.execute({ sql: "SELECT status FROM hosts WHERE id = ?", args: [id] });
    return res.rows[0] as unknown as { status: string };
  } finally {
    db.close();
  }
}

async function connected(id: Identity): Promise<RawAgent> {
  const agent = await RawAgent.connect(stack.url, id);
  await agent.handshake();
  return agent;
}

describe("presence writes", () => {
  it("answers 30 s of heartbeats without one write to libSQL", async () => {
    const id = await enrollIdentity(stack.url, client, "quiet01");
    const agent = await connected(id);
    await eventually(async () => expect((await hostRow(id.hostId)).status).toBe("online"));
    await new Promise((r) => setTimeout(r, 1000)); // the hello's own writes have landed
    let pongs = 0;
    void (async () => {
      for (;;) {
        const f = await agent.receive().catch(() => undefined);
        if (!f) return;
        if (f.t === "pong") pongs++;
      }
    })();
    const before = dataVersion();
    // Past the 30 s after which last_seen used to be written again.
    for (let i = 0; i < 34; i++) {
      await agent.sendFrame({ t: "ping", time: Date.now() } as never);
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(dataVersion()).toBe(before);
    expect(pongs).toBeGreaterThanOrEqual(30); // answered all along: the object was there
    agent.ws.close(1000);
  }, 90_000);

  it("writes nothing for a reconnect after a control-plane restart, and marks a host that was offline online", async () => {
    const id = await enrollIdentity(stack.url, client, "herd01");
    const first = await connected(id);
    await eventually(async () => expect((await hostRow(id.hostId)).status).toBe("online"));
    await stack.restartControlPlane();
    await first.closed;
    // The restart wrote nothing for this host: it is still online in the row, as it is again at once.
    expect((await hostRow(id.hostId)).status).toBe("online");
    const before = dataVersion();
    const again = await connected(id);
    again.keepAlive();
    await new Promise((r) => setTimeout(r, 1500));
    expect(dataVersion()).toBe(before);

    // A host that went away is written offline, and online again when it comes back.
    again.ws.close(1000);
    await again.closed;
    await eventually(async () => expect((await hostRow(id.hostId)).status).toBe("offline"));
    const back = await connected(id);
    await eventually(async () => expect((await hostRow(id.hostId)).status).toBe("online"));
    back.ws.close(1000);
  }, 90_000);
});

describe("hello without a database read", () => {
  it("takes a reconnect while the host's record is fresh from the record: a row changed behind it is not read", async () => {
    const id = await enrollIdentity(stack.url, client, "fresh01");
    const first = await connected(id);
    first.keepAlive();
    await eventually(async () => expect((await hostRow(id.hostId)).status).toBe("online"));
    await new Promise((r) => setTimeout(r, 1000)); // the hello's own writes have landed
    // Changed behind the object's back: a hello that read the row would see another version and
    // write its own back (the replaced connection's audit event is the one write it makes).
    file.prepare("UPDATE hosts SET agent_version = 'changed-behind' WHERE id = ?").run(id.hostId);
    const second = await connected(id); // replaces the first: the host never went offline
    second.keepAlive();
    await first.closed;
    await new Promise((r) => setTimeout(r, 1000));
    expect(file.prepare("SELECT agent_version AS v FROM hosts WHERE id = ?").get(id.hostId)).toMatchObject({
      v: "changed-behind",
    });
    // Once the host went offline, the next hello reads the row again and writes its presence.
    second.ws.close(1000);
    await second.closed;
    await eventually(async () => expect((await hostRow(id.hostId)).status).toBe("offline"));
    const third = await connected(id);
    await eventually(async () =>
      expect(file.prepare("SELECT agent_version AS v FROM hosts WHERE id = ?").get(id.hostId)).toMatchObject({
        v: "0.0.0-test",
      }),
    );
    third.ws.close(1000);
  }, 60_000);

  it("refuses a revoked host at once, though its record was fresh", async () => {
    const id = await enrollIdentity(stack.url, client, "fresh02");
    const first = await connected(id);
    first.keepAlive();
    await client.hosts.revoke("fresh02.prod");
    expect((await first.closed).code).toBe(CloseCode.REVOKED);
    const ws = new WebSocket(`${stack.url.replace(/^http/, "ws")}/v1/agent/connect?host=${id.hostId}`);
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    expect(closed).toEqual({
      code: CloseCode.REVOKED,
      reason: "host revoked: enroll again with a new token",
    });
  }, 30_000);
});

describe("fan-out plans", () => {
  it("runs a plan larger than one storage value (2,000 hosts): every host is listed and answered", async () => {
    const cluster = (await client.clusters.get("prod")).cluster;
    const site = (await client.sites.get("prod", "fra1")).site;
    const db = createClient({ url: stack.dbUrl });
    try {
      const rows = Array.from({ length: 2000 }, (_, i) => ({
        id: newHostId(),
        tenantId: parseId("tenant", tenantId),
        clusterId: parseId("cluster", cluster.id),
        siteId: parseId("site", site.id),
        name: `bulk-${String(i).padStart(4, "0")}-${"x".repeat(40)}`,
        publicKey: parseHostKey(`hostkey:${"A".repeat(43)}`),
        labels: { bulk: "yes" },
        status: "offline" as const,
      }));
      for (let i = 0; i < rows.length; i += 100)
        await drizzle(db)
          .insert(hosts)
          .values(rows.slice(i, i + 100));
    } finally {
      db.close();
    }
    const run = client.fanout("prod", ["true"], { selector: "bulk=yes" });
    let planned = 0;
    let offline = 0;
    let done = false;
    for await (const e of run.events) {
      if (e.t === "plan") planned = e.hosts.length;
      else if (e.t === "failed" && e.code === "host_offline") offline++;
      else if (e.t === "done") done = true;
    }
    expect({ planned, offline, done }).toEqual({ planned: 2000, offline: 2000, done: true });
  }, 120_000);
});

describe("the local libSQL server", () => {
  it("syncs the WAL at checkpoints, not at every commit (synchronous = NORMAL)", async () => {
    const db = createClient({ url: stack.dbUrl });
    try {
      const res = await db.execute("PRAGMA synchronous");
      expect(Number(Object.values(res.rows[0]!)[0])).toBe(1);
    } finally {
      db.close();
    }
  });
});
