// Session playback: fetches the asciicast v2 recording (a JSON header line, then [time, "o", text]
// events) and writes it into xterm.js at its own pace, capped so long pauses do not stall the replay.
import { Terminal } from "@xterm/xterm";

const MAX_PAUSE_S = 2;
const box = document.getElementById("terminal");
const status = document.getElementById("playback-status");
const source = box?.dataset.recording;

function say(text: string): void {
  if (status) status.textContent = text;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function play(term: Terminal, url: string): Promise<void> {
  const res = await fetch(url);
  if (!res.ok) {
    say(`no recording (${res.status})`);
    return;
  }
  const lines = (await res.text()).split("\n").filter((l) => l.trim() !== "");
  const header = JSON.parse(lines[0] ?? "{}") as { width?: number; height?: number };
  if (header.width && header.height) term.resize(header.width, header.height);
  say("playing");
  let at = 0;
  for (const line of lines.slice(1)) {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      continue;
    }
    if (!Array.isArray(event) || typeof event[0] !== "number" || typeof event[2] !== "string") continue;
    const pause = Math.min(Math.max(event[0] - at, 0), MAX_PAUSE_S);
    at = event[0];
    if (pause > 0.005) await sleep(pause * 1000);
    if (event[1] === "o") term.write(event[2]);
    else if (event[1] === "r" && /^\d+x\d+$/.test(event[2])) {
      const [cols, rows] = event[2].split("x").map(Number);
      term.resize(cols!, rows!);
    }
  }
  say("played");
}

if (box && source) {
  const term = new Terminal({ disableStdin: true, scrollback: 5000 });
  term.open(box);
  play(term, source).catch((error) => say(`playback failed: ${error}`));
}
