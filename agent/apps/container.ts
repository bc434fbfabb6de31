// Containers: an app whose spec names `image` runs as a podman container, under the same gate, swap
// and rollback as a process (app.ts drives both; only starting, stopping and re-adopting differ).
//
// How it runs: `podman run --rm --name outpost-<app>-<release> … -- <image> [cmd…]`, attached (no
// -d), started detached like any release (process.ts: its own session, stdout/stderr appended to the
// app's log files). So the supervised pid is the podman client, which lives exactly as long as the
// container and relays its output: logs are captured like a process's, and an agent restart leaves
// it running. It is re-adopted by its container name (`podman container inspect`) and that pid.
//
// Security:
//   - argv only, never a shell string; `--` ends podman's options, so an image reference can never be
//     read as a flag (the spec refuses a leading '-' besides);
//   - the port is published on 127.0.0.1 only (`--publish 127.0.0.1:PORT:PORT`), PORT passed in;
//   - env values (secrets among them) are not put on podman's command line, where any local user
//     could read them in /proc/<pid>/cmdline: each is `--env NAME`, which podman takes from its own
//     environment; only a name podman itself reads (PODMAN_ENV below) travels as `--env NAME=value`,
//     and the agent refuses a secret of such a name;
//   - stop_signal and stop_timeout become `--stop-signal` / `--stop-timeout`, and a stop is
//     `podman stop --time <stop_timeout>` (the signal, then SIGKILL), then `podman rm -f` if need be.
//
// Machine settings (runtime, cgroup manager, events backend, default ulimits) are podman's own:
// containers.conf, or the file CONTAINERS_CONF names, which the agent passes on to podman.
import type { Runtime } from "../runtime/index.ts";

/** What podman itself reads from its environment: passed to it, never overridden by an app's env. */
const PODMAN_ENV = ["PATH", "HOME", "TMPDIR", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "CONTAINERS_CONF"];

/**
 * A new container name for one instance of a release (app names are service names: [a-z0-9-]). The
 * random tail keeps a restart of the live release (a second instance beside it) from replacing it.
 */
export function containerName(app: string, release: number): string {
  const tail = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
  return `outpost-${app}-${release}-${tail}`;
}

/** The podman binary: OUTPOST_PODMAN, else `podman` on PATH; undefined when there is none. */
export async function findPodman(runtime: Runtime): Promise<string | undefined> {
  const { access, constants } = await import("node:fs/promises").then(async (fs) => ({
    access: fs.access,
    constants: (await import("node:fs")).constants,
  }));
  const named = runtime.env("OUTPOST_PODMAN");
  const candidates = named
    ? [named]
    : (runtime.env("PATH") ?? "/usr/local/bin:/usr/bin:/bin").split(":").map((d) => `${d}/podman`);
  for (const path of candidates) {
    if (!path.startsWith("/")) continue;
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {}
  }
  return undefined;
}

export interface PodmanRun {
  podman: string;
  /** The container's name (containerName). */
  name: string;
  app: string;
  release: number;
  image: string;
  cmd: readonly string[];
  port: number;
  /** The container's whole env (PORT, OUTPOST_APP, the spec's env, the opened secrets). */
  env: Record<string, string>;
  stopSignal: string;
  stopTimeoutMs: number;
  /** outpost.toml `user`: podman's --user, a name or uid inside the image. */
  user?: string;
}

/** The argv of `podman run` for a release, and the environment podman must run with. */
export function podmanRunCommand(
  run: PodmanRun,
  agentEnv: (name: string) => string | undefined,
): { argv: string[]; env: Record<string, string> } {
  const env = podmanEnv(agentEnv);
  const envFlags: string[] = [];
  for (const [name, value] of Object.entries(run.env)) {
    if (PODMAN_ENV.includes(name)) envFlags.push("--env", `${name}=${value}`);
    else {
      env[name] = value;
      envFlags.push("--env", name);
    }
  }
  const argv = [
    run.podman,
    "run",
    "--rm",
    "--replace",
    "--name",
    run.name,
    "--label",
    `outpost.app=${run.app}`,
    "--label",
    `outpost.release=${run.release}`,
    "--publish",
    `127.0.0.1:${run.port}:${run.port}`,
    "--stop-signal",
    run.stopSignal,
    "--stop-timeout",
    String(Math.max(1, Math.ceil(run.stopTimeoutMs / 1000))),
    "--sig-proxy=true",
    "--pull=never",
    ...(run.user !== undefined ? ["--user", run.user] : []),
    ...envFlags,
    "--",
    run.image,
    ...run.cmd,
  ];
  return { argv, env };
}

/** Names an env var podman reads itself: a secret may not have one (see the banner). */
export function isPodmanEnvName(name: string): boolean {
  return PODMAN_ENV.includes(name);
}

/** Runs podman to completion (bounded by `ms`); its exit code and output. */
async function _podman(
  runtime: Runtime,
  argv: string[],
  env: Record<string, string>,
  ms: number,
): Promise<{ code: number | null; out: string }> {
  const child = runtime.spawn(argv, { env });
  void child.stdin.close().catch(() => {});
  const read = async (s: ReadableStream<Uint8Array>) => {
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of s as unknown as AsyncIterable<Uint8Array>)
      if (text.length < 4096) text += decoder.decode(chunk, { stream: true });
    return text;
  };
  const output = Promise.all([read(child.stdout), read(child.stderr)]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const code = await Promise.race([
    child.exited.then((e) => e.code),
    new Promise<null>((resolve) => {
      timer = setTimeout(() => {
        child.kill("SIGKILL");
        resolve(null);
      }, ms);
    }),
  ]);
  clearTimeout(timer);
  const [out, err] = await output;
  return { code, out: `${out}${err}`.trim() };
}

/** The environment podman's own commands run with (the agent's settings for podman, nothing else). */
function podmanEnv(agentEnv: (name: string) => string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PODMAN_ENV) {
    const v = agentEnv(name);
    if (v !== undefined) env[name] = v;
  }
  return env;
}

/** Whether the release's container exists and runs (re-adoption after an agent restart). */
export async function containerRunning(runtime: Runtime, podman: string, name: string): Promise<boolean> {
  const r = await _podman(
    runtime,
    [podman, "container", "inspect", "--format", "{{.State.Running}}", name],
    podmanEnv((n) => runtime.env(n)),
    30_000,
  );
  return r.code === 0 && r.out.split("\n")[0] === "true";
}

/** `podman stop --time T` (the stop signal, then SIGKILL after T), then `rm -f` when it would not go. */
export async function stopContainer(
  runtime: Runtime,
  podman: string,
  name: string,
  timeoutMs: number,
): Promise<void> {
  const env = podmanEnv((n) => runtime.env(n));
  const secs = Math.max(1, Math.ceil(timeoutMs / 1000));
  const stopped = await _podman(
    runtime,
    [podman, "stop", "--ignore", "--time", String(secs), name],
    env,
    timeoutMs + 30_000,
  );
  if (stopped.code !== 0) await _podman(runtime, [podman, "rm", "--force", "--ignore", name], env, 30_000);
}
