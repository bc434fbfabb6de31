// asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): one JSON header line, then one JSON
// array per event, `[seconds, code, data]`: "o" output, "r" resize ("COLSxROWS"), "m" a marker. Only
// the terminal's output is recorded, never its input (passwords typed at a prompt stay unrecorded).

interface CastHeader {
  version: 2;
  width: number;
  height: number;
  /** Unix seconds. */
  timestamp: number;
  env: { TERM: string };
}

export function castHeader(cols: number, rows: number, term: string, at: number): string {
  const header: CastHeader = {
    version: 2,
    width: cols,
    height: rows,
    timestamp: Math.floor(at / 1000),
    env: { TERM: term },
  };
  return `${JSON.stringify(header)}\n`;
}

/** One event line; the time has microseconds, as asciinema writes it. */
export function castEvent(seconds: number, code: "o" | "r" | "m", data: string): string {
  return `${JSON.stringify([Math.round(seconds * 1e6) / 1e6, code, data])}\n`;
}
