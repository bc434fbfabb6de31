// A progress bar for long transfers: bytes, rate and ETA on one line of stderr, redrawn in place.
// Only on a terminal and never with --json: a pipe or a log file gets no carriage returns, and a
// script reading JSON gets nothing but JSON. The rate counts only bytes sent in this run (a resumed
// upload starts with the parts the server had), so the ETA is honest from the first redraw.

/** What the bar writes to: process.stderr, or anything shaped like it. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export interface Progress {
  update(sent: number, total: number): void;
  /** Ends the line (if a bar was drawn). */
  done(): void;
}

const REDRAW_MS = 100;
const NONE: Progress = { update() {}, done() {} };

/** A bar on `stream` when it is a terminal and the output is not JSON; otherwise one that draws nothing. */
export function progressBar(
  label: string,
  opts: { json: boolean; stream?: ProgressStream; now?: () => number },
): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.json || !stream.isTTY) return NONE;
  const now = opts.now ?? (() => performance.now());
  let start: { at: number; sent: number } | undefined;
  let drawnAt = -Infinity;
  let drawn = false;
  return {
    update(sent, total) {
      const at = now();
      start ??= { at, sent };
      if (sent < total && at - drawnAt < REDRAW_MS) return;
      drawnAt = at;
      drawn = true;
      const line = renderProgress({ label, sent, total, elapsedMs: at - start.at, sentBefore: start.sent });
      stream.write(`\r${line.slice(0, Math.max(20, (stream.columns ?? 80) - 1))}\x1b[K`);
    },
    done() {
      if (drawn) stream.write("\n");
    },
  };
}

/** One line: `label [#####-----]  12.0 MiB / 100.0 MiB  12%  4.0 MiB/s  ETA 0:22`. */
export function renderProgress(p: {
  label: string;
  sent: number;
  total: number;
  elapsedMs: number;
  /** Bytes already there when the transfer started: not counted in the rate. */
  sentBefore?: number;
  width?: number;
}): string {
  const width = p.width ?? 24;
  const fraction = p.total > 0 ? Math.min(1, p.sent / p.total) : 1;
  const filled = Math.round(fraction * width);
  const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
  const moved = p.sent - (p.sentBefore ?? 0);
  const rate = p.elapsedMs > 0 ? (moved / p.elapsedMs) * 1000 : 0;
  const eta = rate > 0 ? formatDuration((p.total - p.sent) / rate) : "--:--";
  const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `${p.label} ${bar} ${formatBytes(p.sent)} / ${formatBytes(p.total)} ${pct}  ${formatBytes(rate)}/s  ETA ${eta}`;
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Seconds as m:ss (or h:mm:ss). */
function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
