// Apps outlive their agent on purpose (they are re-adopted by the next one), so a test that stops its
// agents takes the apps down itself, by the process groups the agent recorded for them.
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** SIGKILLs the live release of `app` and any release still draining, as `<stateDir>/apps/<app>/state.json` records them. */
export function killAppProcesses(stateDir: string, app: string): void {
  let state: { live?: { pid?: number }; draining?: { pid: number }[] };
  try {
    state = JSON.parse(readFileSync(join(stateDir, "apps", app, "state.json"), "utf8"));
  } catch {
    return; // never deployed there
  }
  for (const pid of [...(state.draining ?? []).map((d) => d.pid), state.live?.pid]) {
    if (!pid) continue;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
  }
}
