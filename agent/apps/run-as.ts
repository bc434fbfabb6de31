// `user = "…"` in outpost.toml: the release hook, the app and its `cmd` health check run as that
// user, with its primary group and its supplementary groups, when the agent runs as root.
//
// Why setpriv(1) (util-linux, in every Debian) and not a uid/gid spawn option: Deno.Command has no
// stable uid/gid and neither runtime sets supplementary groups, whereas `setpriv --reuid --regid
// --init-groups -- argv…` does all three, the same under Bun and Deno, and execs (the app keeps the
// pid the agent recorded, so re-adoption and stop signals are unchanged). Root drops to a non-zero
// uid, so the kernel clears every capability (capabilities(7), "Effect of user ID changes").
//
// The user is looked up with getent(1) (passwd, NSS-aware) before anything starts: an unknown user
// is refused and the live release keeps serving.
//
// What the user may touch: the release directory is owned by root and shared read-only with the
// user's primary group (shareReadOnly); its ancestors get only the search bit, so the app can reach
// its own files by path but list or change nothing of the agent's. Logs are opened by the agent's
// shell before setpriv runs (process.ts), so they stay the agent's files.
import { chmod, lchown, lstat, readdir } from "node:fs/promises";
import { dirname } from "node:path";
import process from "node:process";
import type { Runtime } from "../runtime/index.ts";

export interface RunAs {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** The user to switch to for `user`, or undefined when the agent already is that user. Throws a one-line reason otherwise. */
export async function resolveRunAs(runtime: Runtime, user: string): Promise<RunAs | undefined> {
  const self = process.getuid?.() ?? -1;
  const entry = await _getent(runtime, user);
  if (!entry)
    throw new Error(
      `user ${user} (outpost.toml "user") does not exist on this host; create it (useradd -r ${/^\d+$/.test(user) ? "-u " : ""}${user}) or change "user"`,
    );
  if (entry.uid === self) return undefined;
  if (self !== 0)
    throw new Error(
      `user ${user} (outpost.toml "user") needs the agent to run as root, and it runs as uid ${self}; run the agent as root or drop "user"`,
    );
  return entry;
}

/** `argv` run as `as` (unchanged when there is no one to switch to). */
export function runAsArgv(as: RunAs | undefined, argv: readonly string[]): string[] {
  if (!as) return [...argv];
  return ["setpriv", `--reuid=${as.uid}`, `--regid=${as.gid}`, "--init-groups", "--", ...argv];
}

/** The environment a process run as `as` sees: its own HOME, USER and LOGNAME, not the agent's. */
export function runAsEnv(as: RunAs | undefined, env: Record<string, string>): Record<string, string> {
  return as ? { ...env, HOME: as.home, USER: as.name, LOGNAME: as.name } : env;
}

/**
 * Makes `dir` readable, never writable, by `as`: everything in it owned by root and group `as.gid`,
 * the group getting the owner's read and execute bits and no write bit, others nothing; and
 * `ancestors` (the agent's own directories above it) searchable, never listable.
 */
export async function shareReadOnly(as: RunAs, dir: string, ancestors: readonly string[]): Promise<void> {
  // Above the agent's own directories nothing is changed: each must already let the user search it.
  const top = ancestors[0] ?? dir;
  for (let up = dirname(top); ; up = dirname(up)) {
    const st = await lstat(up);
    const search = st.uid === as.uid ? 0o100 : st.gid === as.gid ? 0o010 : 0o001;
    if (!(st.mode & search))
      throw new Error(
        `user ${as.name} cannot reach ${dir}: ${up} is not searchable by it; chmod o+x ${up} or give the agent a state directory under one that is`,
      );
    if (up === "/") break;
  }
  for (const a of ancestors) {
    const st = await lstat(a);
    // Search only: the app can reach its release by path; listing or writing stays root's.
    await chmod(a, (st.mode & 0o7777) | 0o011);
  }
  await _share(dir, as.gid);
}

async function _share(path: string, gid: number): Promise<void> {
  const st = await lstat(path);
  await lchown(path, 0, gid);
  if (st.isSymbolicLink()) return;
  // Owner keeps its bits; the group gets the owner's r and x only; others nothing; no setuid/setgid.
  await chmod(path, (st.mode & 0o700) | ((st.mode & 0o500) >> 3));
  if (st.isDirectory()) for (const name of await readdir(path)) await _share(`${path}/${name}`, gid);
}

async function _getent(runtime: Runtime, user: string): Promise<RunAs | undefined> {
  // `user` is already validated (schema: a POSIX name or a number), and travels as one argv item.
  const child = runtime.spawn(["getent", "passwd", user]);
  void child.stdin.close().catch(() => {});
  void child.stderr.cancel().catch(() => {});
  const out = await new Response(child.stdout).text();
  const status = await child.exited;
  if (status.code !== 0) return undefined;
  // name:password:uid:gid:gecos:home:shell
  const [name, , uid, gid, , home] = out.split("\n")[0]!.split(":");
  if (!name || !/^\d+$/.test(uid ?? "") || !/^\d+$/.test(gid ?? "")) return undefined;
  return { name, uid: Number(uid), gid: Number(gid), home: home || "/" };
}
