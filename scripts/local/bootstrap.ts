// First-run setup of a local control plane: tenant `local` with an admin key, cluster `dev`, site
// `dev/local`. Idempotent: a second start finds them and keeps everything.
import { Outpost, OutpostApiError } from "../../sdk/index.ts";

export async function bootstrapLocal(url: string, adminToken: string, savedKey?: string): Promise<string> {
  let key = savedKey;
  if (key) {
    try {
      await new Outpost({ url, token: key }).clusters.list();
    } catch (err) {
      if (!(err instanceof OutpostApiError && err.status === 401)) throw err;
      key = undefined; // the database was reset; make a new tenant key below
    }
  }
  if (!key) {
    const admin = new Outpost({ url, token: adminToken });
    const existing = (await admin.tenants.list()).tenants.find((t) => t.name === "local");
    if (existing) {
      throw new Error(
        "tenant 'local' exists but its saved admin key is gone; remove OUTPOST_HOME to start afresh",
      );
    }
    key = (await admin.tenants.create("local")).token;
  }
  const op = new Outpost({ url, token: key });
  await ignoreConflict(op.clusters.create("dev"));
  await ignoreConflict(op.sites.create("dev", "local"));
  return key;
}

async function ignoreConflict(pending: Promise<unknown>): Promise<void> {
  try {
    await pending;
  } catch (err) {
    if (!(err instanceof OutpostApiError && err.status === 409)) throw err;
  }
}
