// Health checks of a release: http (GET <path> on its PORT answers 2xx/3xx), tcp (its PORT accepts)
// or cmd (exits 0, run in the release's directory). Each within the check's timeout; the result says
// what happened in one line (the tail of a cmd's output), for the deployment's record.
import type { HealthCheck } from "../../schema/protocol/index.ts";
import type { Runtime } from "../runtime/index.ts";

export interface HealthResult {
  ok: boolean;
  output: string;
}

const TAIL = 1024;

function _within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function _readAll(stream: ReadableStream<Uint8Array>, max: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value: chunk } = await reader.read();
    if (done) break;
    chunks.push(chunk);
    size += chunk.length;
    while (size > max * 4 && chunks.length > 1) size -= chunks.shift()!.length;
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  const text = new TextDecoder().decode(all);
  return text.slice(-max);
}

export async function checkHealth(
  runtime: Runtime,
  health: HealthCheck | undefined,
  port: number,
  ctx: { cwd: string; env: Record<string, string> },
): Promise<HealthResult> {
  try {
    if (health === undefined || health.tcp) {
      const conn = await _within(runtime.connect("127.0.0.1", port), health?.timeout ?? 2000, "tcp check");
      conn.close();
      return { ok: true, output: `port ${port} accepts connections` };
    }
    if (health.http !== undefined) {
      const res = await fetch(`http://127.0.0.1:${port}${health.http}`, {
        signal: AbortSignal.timeout(health.timeout),
        redirect: "manual",
      });
      const body = (await res.text()).slice(0, TAIL);
      const ok = res.status >= 200 && res.status < 400;
      return { ok, output: `GET ${health.http}: ${res.status} ${body}`.slice(0, TAIL) };
    }
    const child = runtime.spawn(health.cmd!, ctx);
    void child.stdin.close().catch(() => {});
    const out = _readAll(child.stdout, TAIL);
    const err = _readAll(child.stderr, TAIL);
    const status = await _within(child.exited, health.timeout, "health cmd").catch((error) => {
      child.kill("SIGKILL");
      throw error;
    });
    const output = `${await out}${await err}`.slice(-TAIL);
    return { ok: status.code === 0, output: output || `exit ${status.code ?? status.signal}` };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { ok: false, output: why.slice(0, TAIL) };
  }
}
