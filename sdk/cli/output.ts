// How the CLI prints: aligned tables for people, JSON with --json for scripts.

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** Prints JSON for scripts; returns the exit status 0 so a command can `return json(io, value)`. */
export function json(io: Io, value: unknown): 0 {
  io.out(JSON.stringify(value, null, 2));
  return 0;
}

type Cell = string | number | boolean | null | undefined | Date;

function cell(value: Cell): string {
  if (value === null || value === undefined || value === "") return "-";
  if (value instanceof Date) return value.toISOString();
  return String(value);
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
