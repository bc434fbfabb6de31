// How the CLI prints: aligned tables for people, JSON with --json for scripts. Nearly everything it
// prints came from a server, and through it from agents, so none of it reaches the terminal raw: a
// hostname holding `ESC ] 52 ;` would otherwise write the operator's clipboard. Table cells and
// messages show control characters escaped (`\x1b`), JSON escapes them as `\u001b`, and every line
// written is escaped once more, keeping only the line breaks the CLI itself puts there.
import { escapeControlCharacters } from "../../schema/protocol/control-characters.ts";

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** `text` for a terminal: control characters escaped, except the line breaks between lines. */
function terminalSafe(text: string): string {
  return text.split("\n").map(escapeControlCharacters).join("\n");
}

export const processIo: Io = {
  out: (text) => process.stdout.write(`${terminalSafe(text)}\n`),
  err: (text) => process.stderr.write(`${terminalSafe(text)}\n`),
};

/** What JSON.stringify leaves raw of control-characters.ts's set: DEL, C1 and the bidi controls. */
const RAW_IN_JSON = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Prints JSON for scripts, every control character escaped (it parses back to the same strings);
 * returns the exit status 0 so a command can `return json(io, value)`.
 */
export function json(io: Io, value: unknown): 0 {
  const text = JSON.stringify(value, null, 2).replace(
    RAW_IN_JSON,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  io.out(text);
  return 0;
}

/** One line of JSON (NDJSON), escaped as `json` escapes: for event streams (`outpost exec --json`). */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(
    RAW_IN_JSON,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

type Cell = string | number | boolean | null | undefined | Date;

function cell(value: Cell): string {
  if (value === null || value === undefined || value === "") return "-";
  if (value instanceof Date) return value.toISOString();
  // Escaped here too, newlines included: a cell is one line of one row.
  return escapeControlCharacters(String(value));
}

export function table(io: Io, headers: string[], rows: Cell[][]): void {
  const text = rows.map((r) => r.map(cell));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cols: string[]) =>
    cols
      .map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  io.out(line(headers));
  for (const r of text) io.out(line(r));
  if (rows.length === 0) io.out("(none)");
}

/** "3m ago" style ages for timestamps the API returns as ISO strings. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 0) return `in ${humanSeconds(-s)}`;
  return `${humanSeconds(s)} ago`;
}

function humanSeconds(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
