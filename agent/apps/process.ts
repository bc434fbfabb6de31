// App processes that outlive the agent. Each release runs in a session of its own (setsid), its
// stdin from /dev/null and its stdout/stderr appended straight to files, so an agent that exits, is
// upgraded or is killed with SIGKILL leaves it running with nothing of the agent's attached (no pipe
// whose reader is gone). `setsid sh -c 'exec "$@"' …` keeps one pid from spawn to the app: setsid(1)
// forks only when it is a process group leader, which a freshly spawned child is not, and both it and
// sh exec. The app's own pid is then its process group, so a stop reaches what it started too.
//
// Re-adoption: the pid file records the pid and the process's start time (field 22 of
// /proc/<pid>/stat, in clock ticks since boot): a pid alive with another start time is a different
// process that got the recycled pid, never ours.
import { readFile } from "node:fs/promises";
import type { ChildProcess, Runtime } from "../runtime/index.ts";

export interface Started {
  pid: number;
  startTime: string;
  /** Only for a process this agent spawned: resolves when it exits. */
  child?: ChildProcess;
}

/** The argv that runs `cmd` detached with its output appended to `out` and `err`. */
function _detached(cmd: readonly string[], out: string, err: string): string[] {
  // A fixed script; the paths and the app's argv travel as positional parameters, never as shell text.
  const script = 'o="$1"; e="$2"; shift 2; exec "$@" </dev/null >>"$o" 2>>"$e"';
  return ["setsid", "sh", "-c", script, "outpost-app", out, err, ...cmd];
}

/** The start time of `pid` (/proc/<pid>/stat field 22), or undefined when it is gone or a zombie. */
async function processStartTime(pid: number): Promise<string | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (rest[0] === "Z" || rest[0] === "X") return undefined;
  return rest[19];
}

export async function spawnDetached(
  runtime: Runtime,
  cmd: readonly string[],
  opts: { cwd: string; env: Record<string, string>; out: string; err: string },
): Promise<Started> {
  const child = runtime.spawn(_detached(cmd, opts.out, opts.err), { cwd: opts.cwd, env: opts.env });
  // Nothing comes through the pipes (sh redirected them); close ours so the child holds no reader.
  void child.stdin.close().catch(() => {});
  void child.stdout.cancel().catch(() => {});
  void child.stderr.cancel().catch(() => {});
  const startTime = (await processStartTime(child.pid)) ?? "";
  return { pid: child.pid, startTime, child };
}

/** Whether `pid` is still the process that was started at `startTime`. */
export async function isSameProcess(pid: number, startTime: string): Promise<boolean> {
  const now = await processStartTime(pid);
  return now !== undefined && (startTime === "" || now === startTime);
}

/** Sends `signal` to the process group of `pid` (the app and what it started). */
export async function signalGroup(runtime: Runtime, pid: number, signal: string): Promise<void> {
  const name = signal.replace(/^SIG/, "");
  try {
    const kill = runtime.spawn(["kill", "-s", name, "--", `-${pid}`]);
    void kill.stdout.cancel().catch(() => {});
    void kill.stderr.cancel().catch(() => {});
    await kill.exited;
  } catch {}
}

/** Waits until `pid` is gone (or `ms` passed): true when it is. */
export async function waitGone(pid: number, startTime: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await isSameProcess(pid, startTime))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !(await isSameProcess(pid, startTime));
}
