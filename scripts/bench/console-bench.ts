// A VM console's round trip: one key typed at the guest's shell prompt, until its echo comes back,
// through the relay (SDK → Worker → HostDO → agent → the agent's console hub → QEMU's serial socket)
// against the same VM's serial socket read directly on the host, in the same run. The VM is made as a
// user makes it (the example image pushed, `vm create` on the agent's host): real QEMU under TCG. The
// direct samples are taken while the agent is stopped (QEMU's console socket takes one client; the VM
// runs on without its agent), then the agent runs again, re-adopts the VM and the relay is measured.
// Bounded: KEYS keys each way, each within KEY_TIMEOUT_MS; the boot within BOOT_TIMEOUT_MS.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVm, type Outpost, pushVmImage, removeVm, waitForVm } from "../../sdk/index.ts";
import type { TestAgent } from "../../test/harness/agent.ts";
import { buildVmImage } from "../vm-image/build.ts";
import { ms, percentile, type Row } from "./table.ts";

const KEYS = 200;
const KEY_TIMEOUT_MS = 5_000;
const BOOT_TIMEOUT_MS = 120_000;
/** Keys typed on one line before it is cleared (Ctrl-U), so the guest's line never grows long. */
const PER_LINE = 50;

/** Something keys are typed into and output read from: the raw socket, or a console stream. */
interface Console {
  write(bytes: Uint8Array): Promise<void>;
  /** Resolves once `count` bytes of output have come since it was called; rejects after `ms`. */
  next(count: number, ms: number): Promise<void>;
  /** Waits until the output so far matches. */
  until(pattern: RegExp, ms: number): Promise<void>;
}

function collector() {
  let text = "";
  let bytes = 0;
  let wake: (() => void) | undefined;
  return {
    push(chunk: Uint8Array) {
      bytes += chunk.length;
      text = (text + new TextDecoder().decode(chunk)).slice(-4096);
      wake?.();
    },
    async wait(done: () => boolean, ms: number, what: string) {
      const deadline = Date.now() + ms;
      while (!done()) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`console bench: ${what} within ${ms} ms`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    },
    get text() {
      return text;
    },
    get bytes() {
      return bytes;
    },
  };
}

function socketConsole(socket: Socket): Console {
  const out = collector();
  socket.on("data", (d: Buffer) => out.push(d));
  return {
    write: (bytes) =>
      new Promise((resolve, reject) => socket.write(bytes, (e) => (e ? reject(e) : resolve()))),
    next(count, ms) {
      const from = out.bytes;
      return out.wait(() => out.bytes >= from + count, ms, "no echo");
    },
    until: (pattern, ms) => out.wait(() => pattern.test(out.text), ms, `no ${pattern}`),
  };
}

function streamConsole(stream: ReturnType<Outpost["vmConsole"]>): Console {
  const out = collector();
  void (async () => {
    for await (const chunk of stream.output as unknown as AsyncIterable<Uint8Array>) out.push(chunk);
  })().catch(() => {});
  const writer = stream.input.getWriter();
  return {
    write: (bytes) => writer.write(bytes),
    next(count, ms) {
      const from = out.bytes;
      return out.wait(() => out.bytes >= from + count, ms, "no echo");
    },
    until: (pattern, ms) => out.wait(() => pattern.test(out.text), ms, `no ${pattern}`),
  };
}

/** Enter until the guest's shell prompts (it may still be booting), within BOOT_TIMEOUT_MS. */
async function prompt(c: Console): Promise<void> {
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  for (;;) {
    await c.write(new TextEncoder().encode("\n"));
    try {
      return await c.until(/\/ # /, 1_000);
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
  }
}

/** KEYS samples: one key typed, its one-byte echo waited for; the line cleared every PER_LINE keys. */
async function roundTrips(c: Console): Promise<number[]> {
  const key = new TextEncoder().encode("x");
  const samples: number[] = [];
  await c.write(new TextEncoder().encode("\u0015\n"));
  await c.until(/\/ # /, KEY_TIMEOUT_MS);
  for (let i = 0; i < KEYS; i++) {
    if (i > 0 && i % PER_LINE === 0) {
      await c.write(new TextEncoder().encode("\u0015"));
      await new Promise((r) => setTimeout(r, 50));
    }
    const echoed = c.next(1, KEY_TIMEOUT_MS);
    const t0 = performance.now();
    await c.write(key);
    await echoed;
    samples.push(performance.now() - t0);
  }
  await c.write(new TextEncoder().encode("\u0015"));
  return samples.sort((a, b) => a - b);
}

export async function consoleBench(opts: { client: Outpost; agent: TestAgent }): Promise<Row[]> {
  const { client, agent } = opts;
  const image = buildVmImage(mkdtempSync(join(tmpdir(), "outpost-bench-image-")));
  const dir = join(agent.stateDir, "vms", "bench");
  await pushVmImage(client, "console-bench", image);
  try {
    await createVm(client, {
      host: agent.ref,
      name: "bench",
      image: "console-bench",
      memory: 192,
      ports: [],
    });
    await waitForVm(client, "bench", "started", { timeoutMs: BOOT_TIMEOUT_MS });
    // Direct: the serial socket, while no agent holds it (the VM runs on without its agent).
    await agent.stop();
    const socket = createConnection({ path: join(dir, "console.sock") });
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const direct = socketConsole(socket);
    await prompt(direct);
    const directSamples = await roundTrips(direct);
    socket.destroy();
    // Through the relay: the agent runs again, re-adopts the VM, and the same keys go through a stream.
    await agent.restart();
    let relaySamples: number[] | undefined;
    const deadline = Date.now() + 60_000;
    while (!relaySamples) {
      const stream = client.vmConsole(agent.ref, "bench");
      try {
        if ((await stream.attached).mode !== "write") throw new Error("read-only");
        relaySamples = await roundTrips(streamConsole(stream));
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        stream.close();
      }
    }
    const d50 = percentile(directSamples, 50);
    const r50 = percentile(relaySamples, 50);
    const added = r50 - d50;
    return [
      {
        what: `VM console round trip p50 (${KEYS} keys, QEMU TCG)`,
        value: ms(r50),
        baseline: `${ms(d50)} serial socket direct`,
        ratio: `+${ms(added)}`,
        target: "added ≤ 5 ms",
        met: added <= 5,
      },
      {
        what: `VM console round trip p99 (${KEYS} keys)`,
        value: ms(percentile(relaySamples, 99)),
        baseline: `${ms(percentile(directSamples, 99))} serial socket direct`,
        ratio: `+${ms(percentile(relaySamples, 99) - percentile(directSamples, 99))}`,
        target: "-",
        met: null,
      },
    ];
  } finally {
    // vm rm, then whatever QEMU is left (the agent could not take it down) by its pid file.
    const pidFile = join(dir, "qemu.pid");
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : 0;
    await removeVm(client, "bench").catch(() => {});
    await waitForVm(client, "bench", "destroyed", { timeoutMs: 30_000 }).catch(() => {});
    try {
      if (pid > 0) process.kill(pid, "SIGKILL");
    } catch {}
  }
}
