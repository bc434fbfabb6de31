// `--include-new`: a host that enrolls while such a job is live (not cancelled, not expired) in its
// cluster, with labels (and site) that the job's selector chooses, gets the job queued like the hosts
// chosen at creation; its HostDO delivers it when the new agent first connects.
import { and, eq, gt, isNull } from "drizzle-orm";
import { jobHosts, jobs } from "../../schema/db/tables.ts";
import type { ClusterId, TenantId } from "../../schema/ids.ts";
import type { HostId } from "../../schema/protocol/keys.ts";
import { matchesSelector, parseSelector } from "../../schema/selectors.ts";
import type { Database } from "../db/database.ts";

export async function queueJobsForNewHost(
  db: Database,
  host: {
    id: HostId;
    tenantId: TenantId;
    clusterId: ClusterId;
    site: string;
    labels: Record<string, string>;
  },
): Promise<number> {
  const live = await db
    .select({ id: jobs.id, selector: jobs.selector, site: jobs.site })
    .from(jobs)
    .where(
      and(
        eq(jobs.tenantId, host.tenantId),
        eq(jobs.clusterId, host.clusterId),
        eq(jobs.includeNew, true),
        isNull(jobs.cancelledAt),
        gt(jobs.expiresAt, new Date()),
      ),
    );
  // Stored selectors are canonical text written by the jobs route, so they parse.
  const chosen = live.filter(
    (j) =>
      (j.site === null || j.site === host.site) && matchesSelector(parseSelector(j.selector), host.labels),
  );
  if (chosen.length === 0) return 0;
  await db
    .insert(jobHosts)
    .values(chosen.map((j) => ({ jobId: j.id, hostId: host.id })))
    .onConflictDoNothing();
  return chosen.length;
}
