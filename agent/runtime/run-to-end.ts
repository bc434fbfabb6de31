// Running a short command to its end: its whole output and how it ended. For the helpers the agent
// shells out to (ip, qemu-img, mkfs, getent…), never for a workload, whose output streams.
import type { Runtime } from "./index.ts";

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns argv (an array, never a shell line), writes `input` to its stdin, and reads both outputs to the end. */
export async function runToEnd(runtime: Runtime, argv: string[], input?: string): Promise<Ran> {
  const child = runtime.spawn(argv);
  const writer = child.stdin.getWriter();
  if (input) await writer.write(new TextEncoder().encode(input)).catch(() => {});
  void writer.close().catch(() => {});
  const [stdout, stderr, status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code: status.code, stdout, stderr };
}
