// The actions this host has taken, on its disk: workload actions and jobs are applied at most once,
// whatever the control plane redelivers (a reconnect, a Durable Object eviction, an agent restart).
//
//   <state>/ledger/<id>.json   { id, claimedAt, expiresAt, result? }
//
// One file per action id. Claiming creates the file with O_CREAT|O_EXCL ("wx") and syncs it and the
// directory before the caller acts, so of two claims of one id (two deliveries, or two agent processes
// on one state dir) exactly one wins, and a claim survives a crash the moment `claim` resolves.
// The order is claim → act → complete: an agent killed while acting never acts again on restart; the
// entry stays claimed without a result, which `interrupted()` lists so the caller can report the action
// as interrupted rather than silently run it twice (at most once, as n-kudo's plans are).
//
// An entry is kept until its `expiresAt` (the action's own deadline, after which the control plane no
// longer delivers it) plus a margin: pruning earlier would let a late redelivery run the action again.
//
// node:fs/promises directly, as runtime/write-file.ts does: Bun and Deno both implement it natively,
// and the seam has no exclusive-create, which is the whole point here.

import { mkdir, open, readdir, readFile, rm } from "node:fs/promises";
import { writeFile } from "./runtime/write-file.ts";

/** An action id as the control plane sends it: `<prefix>_<text>`, safe as a file name. */
const ACTION_ID = /^[a-z]{1,16}_[A-Za-z0-9_-]{1,96}$/;

/** Kept this long past an action's deadline before the entry may go. */
const PRUNE_MARGIN_MS = 24 * 60 * 60 * 1000;

const NEVER = "9999-12-31T23:59:59.999Z";

export interface LedgerEntry<R = unknown> {
  id: string;
  /** ISO 8601: when this host claimed the action. */
  claimedAt: string;
  /** ISO 8601: after this the control plane never delivers the action again. */
  expiresAt: string;
  /** Set once the action finished; absent while it runs, or if the agent died while it ran. */
  result?: R;
}

export class ActionLedger {
  readonly #dir: string;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /** The ledger in `<stateDir>/ledger`, created 0700 if missing. */
  static async open(stateDir: string): Promise<ActionLedger> {
    const dir = `${stateDir.replace(/\/+$/, "")}/ledger`;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new ActionLedger(dir);
  }

  /**
   * Claims `id`: true when this call is the first ever for it (the claim is on disk when it resolves),
   * false when it was claimed before, finished or not. Throws RangeError for an id that is not one.
   */
  async claim(id: string, expiresAt: Date): Promise<boolean> {
    const entry: LedgerEntry = {
      id,
      claimedAt: new Date().toISOString(),
      expiresAt: expiresAt.toISOString(),
    };
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.#path(id), "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    }
    try {
      await handle.writeFile(`${JSON.stringify(entry)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await this.#syncDir();
    return true;
  }

  /** Records the result of a claimed action (atomically: a crash leaves the claim or the result). */
  async complete<R>(id: string, result: R): Promise<void> {
    const entry = await this.get(id);
    if (!entry) throw new RangeError(`Cannot complete action ${id}: it was never claimed`);
    await writeFile(this.#path(id), `${JSON.stringify({ ...entry, result })}\n`, { mode: 0o600 });
  }

  /** The entry for `id`, or undefined when this host never claimed it. */
  async get<R = unknown>(id: string): Promise<LedgerEntry<R> | undefined> {
    let text: string;
    try {
      text = await readFile(this.#path(id), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    return _parseEntry<R>(text, id);
  }

  /** Claimed actions without a result: the agent stopped while they ran. */
  async interrupted(): Promise<LedgerEntry[]> {
    const out: LedgerEntry[] = [];
    for (const id of await this.#ids()) {
      const entry = await this.get(id);
      if (entry && entry.result === undefined) out.push(entry);
    }
    return out;
  }

  /** Deletes entries whose deadline passed more than a day before `now`; returns how many went. */
  async prune(now = new Date()): Promise<number> {
    let removed = 0;
    for (const id of await this.#ids()) {
      const entry = await this.get(id);
      if (entry && Date.parse(entry.expiresAt) + PRUNE_MARGIN_MS < now.getTime()) {
        await rm(this.#path(id), { force: true });
        removed++;
      }
    }
    return removed;
  }

  async #ids(): Promise<string[]> {
    return (await readdir(this.#dir))
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -".json".length))
      .filter((id) => ACTION_ID.test(id));
  }

  #path(id: string): string {
    // Security: the id comes from the control plane; the pattern keeps it one plain file name.
    if (!ACTION_ID.test(id))
      throw new RangeError(`Cannot use action id ${JSON.stringify(id).slice(0, 120)}: not an action id`);
    return `${this.#dir}/${id}.json`;
  }

  /** A new directory entry is durable only once the directory itself is synced. */
  async #syncDir(): Promise<void> {
    const handle = await open(this.#dir, "r");
    try {
      await handle.sync();
    } catch {
      // Some file systems refuse fsync on a directory; the file's own sync is all they offer.
    } finally {
      await handle.close();
    }
  }
}

function _parseEntry<R>(text: string, id: string): LedgerEntry<R> {
  try {
    const v = JSON.parse(text) as LedgerEntry<R>;
    if (v.id !== id || typeof v.claimedAt !== "string" || typeof v.expiresAt !== "string")
      throw new TypeError("fields missing");
    return v;
  } catch {
    // A damaged entry (a crash between create and write leaves it empty) still means "claimed": never
    // act twice because a file is unreadable, and never prune it, as its deadline is unknown.
    return { id, claimedAt: new Date(0).toISOString(), expiresAt: NEVER };
  }
}
