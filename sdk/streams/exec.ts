// Exec as streams: stdout and stderr as ReadableStreams, stdin as a WritableStream, over the client
// stream protocol of schema/streams.ts. Flow control is end to end: output credit is granted only as
// the caller reads, so a slow reader slows the remote process instead of filling memory anywhere.
import WebSocket from "ws";
import { MAX_CHUNK_BYTES } from "../schema/protocol/limits.ts";
import {
  DEFAULT_STREAM_CREDIT,
  decodeServerFrame,
  type ExecSpec,
  encodeExecSpec,
  encodeStreamFrame,
} from "../schema/streams.ts";
import { OutpostApiError, OutpostConnectionError, OutpostStreamError } from "./errors.ts";

export interface ExecResult {
  /** The remote exit code, or null when a signal ended the process. */
  code: number | null;
  signal?: string;
}

export interface ExecStream {
  /** Resolves with the session id once the host has the command. */
  readonly session: Promise<string>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly stdin: WritableStream<Uint8Array>;
  /** Resolves when the process exits; rejects with OutpostStreamError when the stream breaks first. */
  readonly exited: Promise<ExecResult>;
  /** Sends a signal (SIGINT, SIGTERM, …) to the remote process. */
  signal(name: string): void;
  /** Drops the stream; the host kills the process. */
  close(): void;
}

/** Grant credit back in batches: one frame per quarter window instead of one per chunk. */
const CREDIT_BATCH = DEFAULT_STREAM_CREDIT / 4;

export function openExec(opts: { wsUrl: string; token: string; spec: ExecSpec }): ExecStream {
  const url = new URL(opts.wsUrl);
  url.searchParams.set(
    "spec",
    encodeExecSpec({ ...opts.spec, credit: opts.spec.credit ?? DEFAULT_STREAM_CREDIT }),
  );
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${opts.token}` },
    maxPayload: 2 * 1024 * 1024,
  });
  ws.binaryType = "nodebuffer";

  let sessionResolve!: (s: string) => void;
  let sessionReject!: (e: unknown) => void;
  const session = new Promise<string>((res, rej) => {
    sessionResolve = res;
    sessionReject = rej;
  });
  let exitResolve!: (r: ExecResult) => void;
  let exitReject!: (e: unknown) => void;
  const exited = new Promise<ExecResult>((res, rej) => {
    exitResolve = res;
    exitReject = rej;
  });
  session.catch(() => {});
  let finished = false;

  // ## Output: one queue per stream, credit granted as the caller reads.
  let unacked = 0;
  const grant = (bytes: number) => {
    unacked += bytes;
    if (unacked >= CREDIT_BATCH && ws.readyState === WebSocket.OPEN) {
      ws.send(encodeStreamFrame({ t: "credit", bytes: unacked }));
      unacked = 0;
    }
  };
  const makeOutput = () => {
    const queue: Uint8Array[] = [];
    let state: "open" | "ended" | { error: unknown } = "open";
    let discarding = false;
    let wake: (() => void) | undefined;
    const stream = new ReadableStream<Uint8Array>(
      {
        async pull(c) {
          while (queue.length === 0 && state === "open") await new Promise<void>((r) => (wake = r));
          const next = queue.shift();
          if (next) {
            c.enqueue(next);
            grant(next.length);
          } else if (state === "ended") c.close();
          else if (state !== "open") c.error(state.error);
        },
        cancel() {
          // The caller stopped reading this one: keep granting for it so the other stream is not starved.
          discarding = true;
          for (const q of queue.splice(0)) grant(q.length);
        },
      },
      // highWaterMark 0: a chunk counts as read (and its credit goes back) when the caller takes it.
      { highWaterMark: 0 },
    );
    const settle = (s: typeof state) => {
      if (state === "open") state = s;
      wake?.();
    };
    return {
      stream,
      push: (data: Uint8Array) => {
        if (discarding) grant(data.length);
        else {
          queue.push(data);
          wake?.();
        }
      },
      end: () => settle("ended"),
      fail: (error: unknown) => settle({ error }),
    };
  };
  const out = makeOutput();
  const err = makeOutput();

  // ## Input: stdin within the credit the host grants.
  let stdinCredit = 0;
  let creditWaiter: (() => void) | undefined;
  const waitCredit = () =>
    new Promise<void>((res) => {
      creditWaiter = res;
    });
  const stdin = new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let off = 0; off < chunk.length; ) {
        if (finished) return;
        while (stdinCredit <= 0) {
          await waitCredit();
          if (finished) return;
        }
        const n = Math.min(stdinCredit, MAX_CHUNK_BYTES, chunk.length - off);
        ws.send(encodeStreamFrame({ t: "stdin", data: chunk.subarray(off, off + n) }));
        stdinCredit -= n;
        off += n;
      }
    },
    close() {
      if (!finished && ws.readyState === WebSocket.OPEN)
        ws.send(encodeStreamFrame({ t: "stdin", data: new Uint8Array(0), eof: true }));
    },
  });

  const finish = (outcome: { ok: ExecResult } | { error: unknown }) => {
    if (finished) return;
    finished = true;
    creditWaiter?.();
    if ("ok" in outcome) {
      out.end();
      err.end();
      exitResolve(outcome.ok);
    } else {
      out.fail(outcome.error);
      err.fail(outcome.error);
      sessionReject(outcome.error);
      exitReject(outcome.error);
    }
  };

  ws.on("unexpected-response", (_req, res) => {
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (d: string) => (body += d));
    res.on("end", () => {
      let code = "http_error";
      let message = `${res.statusCode} ${res.statusMessage}`;
      try {
        const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } };
        code = parsed.error?.code ?? code;
        message = parsed.error?.message ?? message;
      } catch {}
      finish({ error: new OutpostApiError(res.statusCode ?? 0, code, message) });
    });
  });
  ws.on("error", (e) => finish({ error: new OutpostConnectionError(opts.wsUrl, e) }));
  ws.on("message", (data: Buffer) => {
    let frame: ReturnType<typeof decodeServerFrame>;
    try {
      frame = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (e) {
      finish({
        error: new OutpostStreamError(
          "bad_frame",
          `the control plane sent a bad frame: ${(e as Error).message}`,
        ),
      });
      ws.close(4400);
      return;
    }
    switch (frame.t) {
      case "started":
        sessionResolve(frame.session);
        return;
      case "stdout":
        out.push(frame.data);
        return;
      case "stderr":
        err.push(frame.data);
        return;
      case "credit":
        stdinCredit += frame.bytes;
        creditWaiter?.();
        return;
      case "exit":
        finish({ ok: { code: frame.code, ...(frame.signal ? { signal: frame.signal } : {}) } });
        return;
      case "error":
        finish({ error: new OutpostStreamError(frame.code, frame.message) });
        return;
    }
  });
  ws.on("close", (code, reason) => {
    finish({
      error: new OutpostStreamError(
        "closed",
        `the stream closed before the process exited (${code} ${reason.toString()})`,
      ),
    });
  });

  return {
    session,
    stdout: out.stream,
    stderr: err.stream,
    stdin,
    exited,
    signal(name) {
      if (!finished && ws.readyState === WebSocket.OPEN) ws.send(encodeStreamFrame({ t: "signal", name }));
    },
    close() {
      ws.close(1000);
    },
  };
}

/** Reads a whole stream into one buffer, refusing more than `limit` bytes. */
export async function collect(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > limit)
      throw new RangeError(`output exceeds ${limit} bytes: use the streaming exec for large output`);
    chunks.push(chunk);
  }
  const outBuf = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    outBuf.set(c, off);
    off += c.length;
  }
  return outBuf;
}
