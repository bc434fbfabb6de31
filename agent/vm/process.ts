// What every driver needs of the hypervisor process it does not own as a child: is it alive, is it
// the one of this VM's directory (pids are recycled), and what did it write.

import { readFileSync } from "node:fs";

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid is alive and its command line names `marker` (the VM's control socket path). */
export function isOurs(pid: number, marker: string): boolean {
  if (!(pid > 0) || !alive(pid)) return false;
  const cmdline = readText(`/proc/${pid}/cmdline`);
  return cmdline === "" || cmdline.includes(marker);
}

/** The pid written in `path`, or 0. */
export function readPid(path: string): number {
  return Number.parseInt(readText(path).trim(), 10) || 0;
}

/** The file's text, or "" when it cannot be read. */
export function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** The last lines of a process's output, for a one-line error. */
export function tail(text: string): string {
  return text.trim().split("\n").slice(-5).join(" | ").slice(-500);
}

/** Resolves once `pid` is gone (polled: a process that is not our child cannot be waited for). */
export function whenGone(pid: number, everyMs = 250): { gone: Promise<void>; stop(): void } {
  let timer: ReturnType<typeof setInterval> | undefined;
  const gone = new Promise<void>((resolve) => {
    timer = setInterval(() => {
      if (!alive(pid)) {
        clearInterval(timer);
        resolve();
      }
    }, everyMs);
  });
  return { gone, stop: () => clearInterval(timer) };
}

/** Snapshot names are names: nothing a monitor could read as an option or a path. */
export function snapshotName(tag: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(tag)) {
    throw new RangeError(
      `Cannot use snapshot name ${JSON.stringify(tag).slice(0, 80)}: use 1-63 lowercase letters, digits or hyphens`,
    );
  }
  return tag;
}
