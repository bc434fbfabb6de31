// The benchmark's output: one table, every figure next to a baseline measured in the same run.

export interface Row {
  what: string;
  value: string;
  baseline: string;
  /** value / baseline, or baseline / value; whichever reads as "how we do" for this row. */
  ratio: string;
  target: string;
  met: boolean | null;
}

export function printTable(rows: Row[]): void {
  const headers = ["benchmark", "outpost", "baseline", "ratio", "target", "met"];
  const cells = rows.map((r) => [
    r.what,
    r.value,
    r.baseline,
    r.ratio,
    r.target,
    r.met === null ? "-" : r.met ? "yes" : "NO",
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (cols: string[]) => `| ${cols.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(line(headers));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const c of cells) console.log(line(c));
}

export function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export const ms = (n: number) => `${n.toFixed(2)} ms`;
export const mbps = (bytes: number, seconds: number) => `${(bytes / 1e6 / seconds).toFixed(0)} MB/s`;
export const mib = (kb: number) => `${(kb / 1024).toFixed(1)} MiB`;
