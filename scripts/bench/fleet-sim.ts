// The simulated fleet: thousands of hosts (fleet-host.ts) in one Node process, driven over IPC by the
// fleet bench (fleet-bench.ts), which runs it as a child so that its CPU, memory and file descriptors
// are its own and are measured apart from the control plane's. One process keeps up: at 10,000 hosts
// and a 15 s heartbeat it signs and verifies about 1,300 frames/s (WebCrypto does 20k/s), and a
// handshake costs it two signatures, two verifications and one X25519.
//
// Enrollment is the real one: a token per host from POST /v1/tokens, a fresh ed25519 key per host
// (node:crypto's generator: about 30 µs a key, where noble takes a millisecond), a signed
// POST /v1/enroll. Every loop below is bounded in count and in time.
import { generateKeyPairSync } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { enrollmentMessage } from "../../schema/protocol/enroll.ts";
import { formatHostKey, parseControlPlaneKey, Signer, Verifier } from "../../schema/protocol/index.ts";
import { type SimContext, SimHost, type SimIdentity } from "./fleet-host.ts";

export type SimCommand =
  | { op: "enroll"; url: string; key: string; cluster: string; site: string; count: number }
  | { op: "up"; count: number; batch: number; batchMs: number; timeoutMs: number }
  | { op: "pongs"; ms: number }
  | { op: "mark" }
  | { op: "waitAll"; timeoutMs: number }
  | { op: "settle"; timeoutMs: number }
  | { op: "stats" }
  | { op: "down" };

export interface SimStats {
  /** CPU time this process used since it started, ms (user + system). */
  cpuMs: number;
  rssKb: number;
  fds: number;
  /** The soft and hard RLIMIT_NOFILE this process runs with. */
  nofile: [number, number];
  ready: number;
  failures: number;
  execs: number;
}

const ENROLL_PARALLEL = Number(process.env.OUTPOST_FLEET_ENROLL_PARALLEL ?? 16);

class Fleet {
  readonly hosts: SimHost[] = [];
  #ctx: SimContext | undefined;
  #ready = 0;
  #failures = 0;
  #failureSamples = new Map<string, number>();
  #execs = 0;
  #pongs: number[] = [];
  #onChange: (() => void) | undefined;
  #markedAt = 0;
  #downSinceMark = 0;
  /** Hosts 0 … startedN-1 are started (they dial and redial until down). */
  #startedN = 0;

  async enroll(cmd: Extract<SimCommand, { op: "enroll" }>): Promise<{ enrolled: number; ms: number }> {
    const started = performance.now();
    const auth = { authorization: `Bearer ${cmd.key}`, "content-type": "application/json" };
    const post = async (path: string, body: object, headers: Record<string, string>) => {
      const res = await fetch(`${cmd.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${text.slice(0, 300)}`);
      return JSON.parse(text);
    };
    let cpKey: string | undefined;
    const timing = { tokenMs: 0, enrollMs: 0 };
    const first = this.hosts.length;
    const ids: SimIdentity[] = new Array(cmd.count);
    let next = 0;
    const worker = async () => {
      while (next < cmd.count) {
        const i = next++;
        const name = `sim-${String(first + i).padStart(5, "0")}`;
        // Selectors for the fan-out rows: the first host alone (fan=one), the first 1,000 (thousand=yes).
        const n = first + i;
        const labels = n < 1000 ? { thousand: "yes", ...(n === 0 ? { fan: "one" } : {}) } : {};
        let t = performance.now();
        const { token } = await post(
          "/v1/tokens",
          { cluster: cmd.cluster, site: cmd.site, ttl: "1h", labels },
          auth,
        );
        timing.tokenMs += performance.now() - t;
        const { privateKey, publicKey } = generateKeyPairSync("ed25519");
        // PKCS #8 and SPKI of an ed25519 key end with the raw 32-byte seed and public key (RFC 8410).
        const seed = new Uint8Array(privateKey.export({ format: "der", type: "pkcs8" }).subarray(-32));
        const pub = formatHostKey(
          new Uint8Array(publicKey.export({ format: "der", type: "spki" }).subarray(-32)),
        );
        const signer = await Signer.fromSeed(seed);
        const time = Date.now();
        const signature = Buffer.from(
          await signer.sign(enrollmentMessage({ token, name, publicKey: pub, time })),
        ).toString("base64url");
        t = performance.now();
        const res = await post(
          "/v1/enroll",
          { token, name, publicKey: pub, time, signature },
          { "content-type": "application/json" },
        );
        timing.enrollMs += performance.now() - t;
        cpKey ??= res.controlPlane.publicKey as string;
        ids[i] = { hostId: res.host.id as string, name, signer };
      }
    };
    await Promise.all(Array.from({ length: ENROLL_PARALLEL }, worker));
    if (!this.#ctx) this.#ctx = this.#context(cmd.url, await Verifier.create(parseControlPlaneKey(cpKey!)));
    for (const id of ids) this.hosts.push(new SimHost(id, this.#ctx));
    return { enrolled: this.hosts.length, ms: performance.now() - started, ...timing };
  }

  #context(url: string, cp: Verifier): SimContext {
    return {
      url,
      cp,
      onPong: (ms) => {
        if (this.#pongs.length < 1_000_000) this.#pongs.push(ms);
      },
      onReady: () => {
        this.#ready++;
        this.#onChange?.();
      },
      onDown: () => {
        this.#ready--;
        this.#downSinceMark++;
      },
      onFailure: (why) => {
        this.#failures++;
        const key = why.replace(/\d+/g, "N").slice(0, 120);
        this.#failureSamples.set(key, (this.#failureSamples.get(key) ?? 0) + 1);
        this.#onChange?.();
      },
      onExec: () => {
        this.#execs++;
      },
    };
  }

  /** Resolves once `pred` holds or `timeoutMs` passed; whether it held. */
  #until(pred: () => boolean, timeoutMs: number): Promise<boolean> {
    if (pred()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#onChange = undefined;
        resolve(pred());
      }, timeoutMs);
      this.#onChange = () => {
        if (!pred()) return;
        clearTimeout(timer);
        this.#onChange = undefined;
        resolve(true);
      };
    });
  }

  /**
   * Starts hosts until `count` run, `batch` at a time (each batch's handshakes done before the next
   * starts), within `timeoutMs` overall; a batch that does not finish within `batchMs` ends the step.
   */
  async up(cmd: Extract<SimCommand, { op: "up" }>) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const deadline = Date.now() + cmd.timeoutMs;
    const failuresBefore = this.#failures;
    const target = Math.min(cmd.count, this.hosts.length);
    let complete = true;
    while (this.#startedN < target) {
      const end = Math.min(target, this.#startedN + cmd.batch);
      for (; this.#startedN < end; this.#startedN++) this.hosts[this.#startedN]!.start();
      const left = Math.min(cmd.batchMs, Math.max(0, deadline - Date.now()));
      if (!(await this.#until(() => this.#ready >= end, left))) {
        complete = false;
        break;
      }
    }
    const used = process.cpuUsage(cpu);
    const ms = performance.now() - started;
    return {
      ready: this.#ready,
      complete,
      ms,
      failures: this.#failures - failuresBefore,
      failureSamples: [...this.#failureSamples].sort((a, b) => b[1] - a[1]).slice(0, 5),
      cpuShare: (used.user + used.system) / 1000 / ms,
    };
  }

  /** Heartbeat round trips over the next `ms`: the sorted latencies, and this process's CPU share. */
  async pongs(ms: number): Promise<{ latencies: number[]; cpuShare: number }> {
    this.#pongs = [];
    const cpu = process.cpuUsage();
    await new Promise((r) => setTimeout(r, ms));
    const used = process.cpuUsage(cpu);
    return { latencies: this.#pongs.sort((a, b) => a - b), cpuShare: (used.user + used.system) / 1000 / ms };
  }

  /** The moment a restart begins: waitAll measures from here. */
  mark(): { ready: number } {
    this.#markedAt = performance.now();
    this.#downSinceMark = 0;
    this.#failureSamples.clear();
    return { ready: this.#ready };
  }

  /** Waits until every started host is down and back (or `timeoutMs`): how long since mark. */
  async waitAll(timeoutMs: number) {
    const failuresBefore = this.#failures;
    const want = this.#startedN;
    const cpu = process.cpuUsage();
    // Every host saw its connection go (workerd stopped) before it can count as back.
    await this.#until(() => this.#downSinceMark >= want, Math.min(timeoutMs, 30_000));
    const all = await this.#until(() => this.#ready >= want, timeoutMs);
    const used = process.cpuUsage(cpu);
    const ms = performance.now() - this.#markedAt;
    return {
      all,
      ready: this.#ready,
      want,
      wentDown: this.#downSinceMark,
      ms,
      failedDials: this.#failures - failuresBefore,
      failureSamples: [...this.#failureSamples].sort((a, b) => b[1] - a[1]).slice(0, 5),
      cpuShare: (used.user + used.system) / 1000 / ms,
    };
  }

  /** Waits (up to `timeoutMs`) until every started host is ready: whether they are. */
  settle(timeoutMs: number): Promise<boolean> {
    return this.#until(() => this.#ready >= this.#startedN, timeoutMs);
  }

  stats(): SimStats {
    const cpu = process.cpuUsage();
    const limits = readFileSync("/proc/self/limits", "utf8");
    const m = /Max open files\s+(\d+)\s+(\d+)/.exec(limits);
    return {
      cpuMs: (cpu.user + cpu.system) / 1000,
      rssKb: Math.round(process.memoryUsage.rss() / 1024),
      fds: readdirSync("/proc/self/fd").length,
      nofile: [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0)],
      ready: this.#ready,
      failures: this.#failures,
      execs: this.#execs,
    };
  }

  down(): void {
    for (const h of this.hosts) h.stop();
  }
}

async function _serve(): Promise<void> {
  const fleet = new Fleet();
  process.on("message", (msg: { id: number; cmd: SimCommand }) => {
    const { id, cmd } = msg;
    const run = async (): Promise<unknown> => {
      switch (cmd.op) {
        case "enroll":
          return fleet.enroll(cmd);
        case "up":
          return fleet.up(cmd);
        case "pongs":
          return fleet.pongs(cmd.ms);
        case "mark":
          return fleet.mark();
        case "waitAll":
          return fleet.waitAll(cmd.timeoutMs);
        case "settle":
          return fleet.settle(cmd.timeoutMs);
        case "stats":
          return fleet.stats();
        case "down":
          return fleet.down();
      }
    };
    run().then(
      (result) => process.send?.({ id, result }),
      (err: unknown) => process.send?.({ id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  // The bench going away takes the fleet with it.
  process.on("disconnect", () => process.exit(0));
}

if (process.send) void _serve();
