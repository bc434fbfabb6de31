// A fan-out exec's client end (schema/protocol/fanout-events.ts): one WebSocket to the cluster's
// ClusterDO, its events read in order, and `ack` telling the ClusterDO how much data the caller has
// written out, which is what lets the hosts send more (a slow reader slows the hosts, not memory).
import WebSocket from "ws";
import {
  decodeFanoutEvent,
  type FanoutClientMessage,
  type FanoutEvent,
} from "../../schema/protocol/fanout-events.ts";
import { OutpostApiError, OutpostConnectionError, OutpostStreamError } from "../errors.ts";
import { _maskingPointless } from "./socket.ts";

export interface FanoutStream {
  /** Every event in order, ending after `done`; throws OutpostApiError for a refusal before the start. */
  readonly events: AsyncIterable<FanoutEvent>;
  /** The caller has written out `bytes` more data bytes of stdout/stderr events. */
  ack(bytes: number): void;
  /** Stops the fan-out everywhere: running commands are dropped, hosts not yet started never start. */
  close(): void;
}

export function openFanout(url: URL, token: string): FanoutStream {
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${token}` },
    maxPayload: 4 * 1024 * 1024,
    perMessageDeflate: false,
    ...(_maskingPointless(url) ? { generateMask: (m: Uint8Array) => void m.fill(0) } : {}),
  });
  const queue: FanoutEvent[] = [];
  let ended: { error?: unknown } | undefined;
  let wake: (() => void) | undefined;
  const end = (error?: unknown) => {
    if (ended) return;
    ended = error === undefined ? {} : { error };
    wake?.();
    if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
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
      end(new OutpostApiError(res.statusCode ?? 0, code, message));
    });
  });
  ws.on("error", (e) => end(new OutpostConnectionError(url.toString().replace(/\?.*$/, ""), e)));
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    let event: FanoutEvent;
    try {
      if (isBinary) throw new TypeError("a binary message");
      event = decodeFanoutEvent(data.toString("utf8"));
    } catch (e) {
      end(
        new OutpostStreamError(
          "bad_frame",
          `the control plane sent a bad fan-out event: ${(e as Error).message}`,
        ),
      );
      return;
    }
    queue.push(event);
    wake?.();
    if (event.t === "done") end();
  });
  ws.on("close", (code, reason) =>
    end(
      new OutpostStreamError("closed", `the fan-out closed before it ended (${code} ${reason.toString()})`),
    ),
  );
  const send = (msg: FanoutClientMessage) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };
  return {
    events: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = queue.shift();
          if (next) {
            yield next;
            continue;
          }
          if (ended) {
            if (ended.error !== undefined) throw ended.error;
            return;
          }
          await new Promise<void>((r) => (wake = r));
        }
      },
    },
    ack: (bytes) => {
      if (bytes > 0) send({ t: "ack", bytes });
    },
    close: () => end(),
  };
}
