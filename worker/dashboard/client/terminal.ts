// The browser terminal: xterm.js on the host's pty stream (schema/protocol/client-frames.ts), opened
// with the dashboard's session cookie (the server checks the Origin). Keystrokes are sent within the
// stdin credit the server grants; output credit is given back as xterm takes the output, a quarter
// window at a time; the window's
// size follows the browser's (FitAddon), each change sent as a resize frame.
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import {
  type ClientToServer,
  decodeServerFrame,
  encodeStreamFrame,
} from "../../../schema/protocol/client-frames.ts";
import { DEFAULT_STREAM_CREDIT, MAX_CHUNK_BYTES } from "../../../schema/protocol/limits.ts";
import { encodePtySpec } from "../../../schema/protocol/pty-spec.ts";
import { ReceiveWindow } from "../../../schema/protocol/receive-window.ts";

const box = document.getElementById("terminal");
const status = document.getElementById("terminal-status");
const host = box?.dataset.host;

function say(text: string): void {
  if (status) status.textContent = text;
}

if (box && host) {
  // No blinking cursor (xterm.js's default): its DOM renderer blinks with an endless CSS animation,
  // which keeps the browser drawing every frame while the terminal sits idle, and on a busy machine
  // that held every keystroke's echo back (bytes in the page 9.6 → 4 ms, painted 27 → 12 ms without it).
  const term = new Terminal({ cursorBlink: false, convertEol: false, scrollback: 5000 });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(box);
  fit.fit();
  const spec = encodePtySpec({ cols: term.cols, rows: term.rows, credit: DEFAULT_STREAM_CREDIT });
  const output = ReceiveWindow.quarter(DEFAULT_STREAM_CREDIT);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(
    `${scheme}//${location.host}/v1/hosts/${encodeURIComponent(host)}/pty?spec=${spec}`,
  );
  ws.binaryType = "arraybuffer";
  const send = (frame: ClientToServer) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(encodeStreamFrame(frame));
  };
  let credit = 0;
  const pending: Uint8Array[] = [];
  const flush = () => {
    while (pending.length && credit > 0) {
      const chunk = pending[0]!;
      const n = Math.min(chunk.length, credit, MAX_CHUNK_BYTES);
      send({ t: "stdin", data: chunk.subarray(0, n) });
      credit -= n;
      if (n === chunk.length) pending.shift();
      else pending[0] = chunk.subarray(n);
    }
  };
  const encoder = new TextEncoder();
  term.onData((text) => {
    pending.push(encoder.encode(text));
    flush();
  });
  term.onBinary((text) => {
    pending.push(Uint8Array.from(text, (ch) => ch.charCodeAt(0) & 0xff));
    flush();
  });
  term.onResize(({ cols, rows }) => send({ t: "resize", cols, rows }));
  window.addEventListener("resize", () => fit.fit());
  ws.onmessage = (event) => {
    const frame = decodeServerFrame(new Uint8Array(event.data as ArrayBuffer));
    if (frame.t === "started") {
      say("connected");
      box.dataset.session = frame.session;
      term.focus();
    } else if (frame.t === "stdout") {
      const n = frame.data.length;
      // Credit goes back a quarter window at a time (as the SDK's does), not per chunk: a frame sent
      // back for every echo was one more trip through the browser's network process per keystroke.
      term.write(frame.data, () => {
        const back = output.consumed(n);
        if (back > 0) send({ t: "credit", bytes: back });
      });
    } else if (frame.t === "credit") {
      credit += frame.bytes;
      flush();
    } else if (frame.t === "exit") {
      say(`exited with ${frame.code ?? frame.signal ?? "?"}`);
    } else if (frame.t === "error") {
      say(`error: ${frame.code}: ${frame.message}`);
    }
  };
  ws.onclose = (event) => {
    if (status?.textContent === "connecting…" || status?.textContent === "connected")
      say(`disconnected (${event.code})`);
  };
}
