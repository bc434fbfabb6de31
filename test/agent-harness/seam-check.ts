// Exercises the runtime seam for real on whichever runtime runs this file (`bun test/agent-harness/seam-check.ts`
// or `deno run -A test/agent-harness/seam-check.ts`) and prints one JSON report; agent/seam.test.ts runs it
// under both and checks the report. Every check catches its own failure, so one report always comes out.
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ChildProcess,
  ConnectError,
  detectRuntime,
  SpawnError,
  type TcpConn,
} from "../../agent/runtime/index.ts";

const runtime = detectRuntime();
const report: Record<string, unknown> = {};
const dir = mkdtempSync(join(tmpdir(), "outpost-seam-"));

async function check(name: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    report[name] = await fn();
  } catch (error) {
    report[name] = { threw: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

async function run(child: ChildProcess) {
  const [stdout, stderr, exit] = await Promise.all([text(child.stdout), text(child.stderr), child.exited]);
  return { stdout, stderr, exit };
}

function spawnFailure(argv: string[], cwd?: string) {
  try {
    const child = runtime.spawn(argv, cwd ? { cwd } : {});
    child.kill("SIGKILL");
    return { spawned: true };
  } catch (error) {
    return error instanceof SpawnError
      ? { reason: error.reason, message: error.message }
      : { other: `${error}` };
  }
}

const settled = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

await check("identity", async () => ({
  name: runtime.name,
  version: runtime.version,
  argv: runtime.argv,
  hostname: runtime.hostname(),
  home: runtime.env("HOME") !== undefined,
  envAll: typeof runtime.envAll().PATH,
}));

// RFC 4231 §4.3 (test case 2), and a MAC of 300 KiB (a frame's worth, and then some) given in two parts
// against WebCrypto's of the whole.
await check("hmac", async () => {
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const hmacSha256 = await runtime.loadHmacSha256();
  const rfc = hmacSha256(new TextEncoder().encode("Jefe"), [
    new TextEncoder().encode("what do ya want for nothing?"),
  ]);
  const key = new Uint8Array(32).fill(7);
  const big = new Uint8Array(300 * 1024).map((_, i) => i & 0xff);
  const subtleKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const expected = new Uint8Array(await crypto.subtle.sign("HMAC", subtleKey, big));
  return {
    rfc4231: hex(rfc),
    matchesWebCrypto: hex(hmacSha256(key, [big.subarray(0, 1000), big.subarray(1000)])) === hex(expected),
  };
});

await check("output", async () => {
  const child = runtime.spawn(["sh", "-c", "echo hi; echo err >&2; exit 3"]);
  await child.stdin.close();
  return { pid: child.pid > 0, ...(await run(child)) };
});

await check("stdin", async () => {
  const child = runtime.spawn(["cat"]);
  const big = new Uint8Array(1024 * 1024).fill(120);
  const writer = child.stdin.getWriter();
  const out = text(child.stdout);
  await writer.write(new TextEncoder().encode("hello\n"));
  await writer.write(big);
  await writer.close();
  const stdout = await out;
  return { length: stdout.length, head: stdout.slice(0, 6), exit: await child.exited };
});

await check("kill", async () => {
  const child = runtime.spawn(["sleep", "30"]);
  await child.stdin.close();
  child.kill("SIGTERM");
  const exit = await child.exited;
  child.kill("SIGKILL"); // after exit: nothing happens
  return exit;
});

await check("badSignal", async () => {
  const child = runtime.spawn(["sleep", "30"]);
  let error = "";
  try {
    child.kill("SIGNOPE");
  } catch (e) {
    error = e instanceof TypeError ? "TypeError" : `${e}`;
  }
  child.kill("SIGKILL");
  return { error, exit: await child.exited };
});

await check("envAndCwd", async () => {
  const child = runtime.spawn(["sh", "-c", 'pwd; echo "$FOO:$OUTPOST_SEAM_SECRET"'], {
    cwd: "/tmp",
    env: { PATH: runtime.env("PATH") ?? "/usr/bin:/bin", FOO: "bar" },
  });
  await child.stdin.close();
  return run(child);
});

await check("spawnFailures", async () => ({
  notFound: spawnFailure(["definitely-not-a-command-xyz"]),
  permission: spawnFailure(["/etc/passwd"]),
  badCwd: spawnFailure(["sh", "-c", "true"], "/definitely/not/a/dir"),
}));

await check("backpressure", async () => {
  // 5 MB to stdout, then a marker on stderr: while nobody reads stdout the child must block.
  const child = runtime.spawn(["sh", "-c", "head -c 5000000 /dev/zero; echo done >&2"]);
  await child.stdin.close();
  const stderr = text(child.stderr);
  const finishedUnread = await settled(child.exited, 700);
  const reader = child.stdout.getReader();
  let total = 0;
  let largest = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    largest = Math.max(largest, value.length);
  }
  return { finishedUnread, total, largest, stderr: await stderr, exit: await child.exited };
});

await check("files", async () => {
  const path = join(dir, "host.key");
  const missing = await runtime.readTextFile(path);
  await runtime.writeFile(path, "privkey:first\n", { mode: 0o600 });
  await runtime.writeFile(path, "privkey:second\n", { mode: 0o600 });
  const nested = join(dir, "a", "b");
  await runtime.mkdir(nested, { mode: 0o700 });
  await runtime.writeFile(join(nested, "state.json"), new TextEncoder().encode("{}"), { mode: 0o644 });
  const back = await runtime.readTextFile(path);
  await runtime.remove(join(nested, "state.json"));
  await runtime.remove(join(nested, "state.json"));
  return {
    missing: missing === undefined,
    back,
    mode: (statSync(path).mode & 0o777).toString(8),
    dirMode: (statSync(nested).mode & 0o777).toString(8),
    entries: readdirSync(dir).sort(),
    removed: readdirSync(nested).length === 0,
  };
});

/** Everything `conn` sends until its FIN, as a byte count. */
async function drain(conn: TcpConn): Promise<number> {
  let total = 0;
  const reader = conn.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return total;
    total += value.length;
  }
}

await check("tcp", async () => {
  // The listening end counts what comes until the client's FIN, then answers and sends its own:
  // a half close each way, over both of the seam's sockets.
  const listener = runtime.listen("127.0.0.1", 0, (conn) => {
    void drain(conn).then(async (n) => {
      const writer = conn.writable.getWriter();
      await writer.write(new TextEncoder().encode(`got ${n}`));
      await writer.close();
    });
  });
  const conn = await runtime.connect("127.0.0.1", listener.port);
  const writer = conn.writable.getWriter();
  const block = new Uint8Array(1_000_000).fill(1);
  for (let i = 0; i < 3; i++) await writer.write(block);
  await writer.close();
  const answer = await text(conn.readable);
  conn.close();
  let inUse = "";
  try {
    runtime.listen("127.0.0.1", listener.port, () => {}).close();
  } catch (error) {
    inUse = error instanceof Error ? "Error" : `${error}`;
  }
  listener.close();
  // Deno closes the socket once its pending accept is dropped, a moment later: until then a connect
  // lands in the backlog and is reset.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const failure = async (host: string, port: number) => {
    try {
      (await runtime.connect(host, port)).close();
      return "connected";
    } catch (error) {
      return error instanceof ConnectError ? error.reason : `${error}`;
    }
  };
  return {
    answer,
    inUse,
    afterClose: await failure("127.0.0.1", listener.port),
    badName: await failure("no-such-host.invalid", 80),
  };
});

await check("nodelay", async () => {
  // Two small writes, then wait for the answer: with Nagle's algorithm on, the second write waits for
  // the first one's ACK, which the receiver delays (40 ms on Linux) while it has nothing to send back.
  const listener = runtime.listen("127.0.0.1", 0, (conn) => {
    void (async () => {
      const writer = conn.writable.getWriter();
      let got = 0;
      for await (const chunk of conn.readable as unknown as AsyncIterable<Uint8Array>) {
        got += chunk.length;
        for (; got >= 20; got -= 20) await writer.write(new TextEncoder().encode("ok"));
      }
    })();
  });
  const conn = await runtime.connect("127.0.0.1", listener.port);
  const writer = conn.writable.getWriter();
  const reader = conn.readable.getReader();
  const rounds: number[] = [];
  for (let i = 0; i < 9; i++) {
    const started = performance.now();
    await writer.write(new Uint8Array(10));
    await writer.write(new Uint8Array(10));
    let answer = 0;
    while (answer < 2) answer += (await reader.read()).value?.length ?? 2;
    rounds.push(performance.now() - started);
  }
  conn.close();
  listener.close();
  rounds.sort((a, b) => a - b);
  // Most rounds take well under a millisecond without Nagle, and at least 40 ms with it.
  return { medianUnder20ms: rounds[4]! < 20 };
});

await runtime.remove(join(dir, "host.key"));
console.log(JSON.stringify(report));
runtime.exit(0);
