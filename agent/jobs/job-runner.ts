// Queued jobs on the host (frames.ts `job`, `job.result`, `job.cancel`; capability 7). A job outlives
// the connection that delivered it: the runner belongs to the agent process, and results go out on
// whichever session is ready when they are done (or, if none is, in answer to the redelivery that
// the next connect brings).
//
// At most once per host, whatever is redelivered (agent/action-ledger.ts): a job id is claimed on
// disk before its first step starts. A repeat delivery of a finished job gets its kept result again;
// one that is still running here is ignored; one claimed by an earlier agent process that died while
// it ran is reported `interrupted`, never run again. The owner's exec policy (--no-exec,
// --exec-allow) applies to every step as to an exec. Steps run in order, no shell, and the first that
// does not exit 0 stops the job; cancel sends SIGTERM to the running step and no later step starts.
import { fromBase64, toBase64 } from "../../schema/protocol/base64.ts";
import type { JobFrame, JobResultFrame, JobState } from "../../schema/protocol/frames.ts";
import { JOB_OUTPUT_TAIL } from "../../schema/protocol/limits.ts";
import type { ActionLedger } from "../action-ledger.ts";
import { oneLine } from "../errors.ts";
import { type ExecPolicy, execRefusal } from "../exec/index.ts";
import type { Send } from "../outgoing.ts";
import type { ChildProcess, Runtime } from "../runtime/index.ts";

type Result = Omit<JobResultFrame, "seq" | "t" | "job" | "stdout" | "stderr"> & {
  state: Exclude<JobState, "running">;
  /** base64, as kept in the ledger (JSON). */
  stdout: string;
  stderr: string;
};

interface Running {
  child?: ChildProcess;
  cancelled: boolean;
}

export class JobRunner {
  readonly #running = new Map<string, Running>();
  #send: Send | undefined;

  constructor(
    private readonly runtime: Pick<Runtime, "spawn">,
    private readonly ledger: ActionLedger,
    private readonly policy: ExecPolicy,
    private readonly log: (line: string) => void,
  ) {}

  /** Where results go from now on: the ready session's sender, or undefined between connections. */
  attach(send: Send | undefined): void {
    this.#send = send;
  }

  /** A delivery: runs it once ever, or answers for the earlier run. Never throws. */
  async receive(frame: Omit<JobFrame, "seq">): Promise<void> {
    try {
      await this.#receive(frame);
    } catch (error) {
      this.log(
        `job ${frame.job}: ${oneLine(error instanceof Error ? error.message : String(error)).slice(0, 300)}`,
      );
    }
  }

  cancel(job: string): void {
    const run = this.#running.get(job);
    if (!run) return;
    run.cancelled = true;
    try {
      run.child?.kill("SIGTERM");
    } catch {}
  }

  async #receive(frame: Omit<JobFrame, "seq">): Promise<void> {
    if (this.#running.has(frame.job)) return; // redelivered while it runs: the result will follow
    const before = await this.ledger.get<Result>(frame.job);
    if (before) return this.#answerFor(frame.job, before.result);
    if (frame.expires <= Date.now()) return;
    const run: Running = { cancelled: false };
    this.#running.set(frame.job, run);
    try {
      if (!(await this.ledger.claim(frame.job, new Date(frame.expires)))) {
        return this.#answerFor(frame.job, (await this.ledger.get<Result>(frame.job))?.result);
      }
      this.#report(frame.job, { state: "running" });
      const result = await this.#run(frame, run);
      await this.ledger.complete(frame.job, result);
      this.#report(frame.job, result);
    } finally {
      this.#running.delete(frame.job);
    }
  }

  /** A repeat of a job claimed before: its kept result, or `interrupted` if an earlier agent died in it. */
  async #answerFor(job: string, kept: Result | undefined): Promise<void> {
    let result = kept;
    if (!result) {
      result = {
        state: "interrupted",
        message: "the agent stopped while this job ran; not run again",
        stdout: "",
        stderr: "",
      };
      await this.ledger.complete(job, result);
    }
    this.#report(job, result);
  }

  async #run(frame: Omit<JobFrame, "seq">, run: Running): Promise<Result> {
    const started = Date.now();
    const out = new Tail();
    const err = new Tail();
    const done = (state: Result["state"], extra: Partial<Result> = {}): Result => ({
      state,
      durationMs: Date.now() - started,
      stdout: toBase64(out.bytes()),
      stderr: toBase64(err.bytes()),
      ...extra,
    });
    for (const [step, argv] of frame.steps.entries()) {
      if (run.cancelled) return done("cancelled", { step, message: "cancelled before this step started" });
      const refusal = execRefusal(this.policy, { argv });
      if (refusal) return done("failed", { step, message: refusal });
      let child: ChildProcess;
      try {
        child = this.runtime.spawn(argv);
      } catch (error) {
        return done("failed", {
          step,
          code: 127,
          message: oneLine(error instanceof Error ? error.message : String(error)).slice(0, 1000),
        });
      }
      run.child = child;
      void child.stdin.close().catch(() => {});
      const timer = frame.timeout
        ? setTimeout(() => {
            try {
              child.kill("SIGTERM");
            } catch {}
          }, frame.timeout)
        : undefined;
      const [status] = await Promise.all([child.exited, out.drain(child.stdout), err.drain(child.stderr)]);
      clearTimeout(timer);
      run.child = undefined;
      const exit = { step, code: status.code, ...(status.signal ? { signal: status.signal } : {}) };
      if (run.cancelled) return done("cancelled", exit);
      if (status.code !== 0) return done("failed", exit);
      if (step === frame.steps.length - 1) return done("succeeded", exit);
    }
    return done("succeeded");
  }

  #report(job: string, result: Result | { state: "running" }): void {
    const send = this.#send;
    if (!send) return; // no connection now: the next connect redelivers, and this is answered then
    if (result.state === "running") {
      send({ t: "job.result", job, state: "running" });
      return;
    }
    const { stdout, stderr, ...rest } = result;
    send({ t: "job.result", job, ...rest, stdout: fromBase64(stdout), stderr: fromBase64(stderr) });
  }

  /** Detaches `send` if it is still the one results go to (its session ended). */
  detach(send: Send): void {
    if (this.#send === send) this.#send = undefined;
  }
}

/** The last JOB_OUTPUT_TAIL bytes of a stream. */
class Tail {
  #chunks: Uint8Array[] = [];
  #size = 0;

  async drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
      while (this.#chunks.length > 1 && this.#size - this.#chunks[0]!.length >= JOB_OUTPUT_TAIL) {
        this.#size -= this.#chunks.shift()!.length;
      }
    }
  }

  bytes(): Uint8Array {
    const all = new Uint8Array(this.#size);
    let at = 0;
    for (const c of this.#chunks) {
      all.set(c, at);
      at += c.length;
    }
    return all.length > JOB_OUTPUT_TAIL ? all.slice(all.length - JOB_OUTPUT_TAIL) : all;
  }
}
