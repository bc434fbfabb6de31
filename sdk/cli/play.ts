// Replays an asciicast v2 recording (worker/recordings/asciicast.ts) on the terminal at its own pace,
// `speed` times faster: the header line is checked, each "o" event's output is written when its time
// comes, other events (resize, markers) are skipped. A line that is not an event ends the replay with
// an error naming its line number, after what came before it was shown.

export interface Player {
  write(text: string): void;
  sleep(ms: number): Promise<void>;
}

/** Plays `cast`; returns the number of output events written. Throws SyntaxError for a bad recording. */
export async function playCast(cast: string, speed: number, out: Player): Promise<number> {
  const lines = cast.split("\n");
  let header: { version?: unknown };
  try {
    header = JSON.parse(lines[0] ?? "");
  } catch {
    throw new SyntaxError("Cannot play the recording: its first line is not an asciicast header");
  }
  if (header?.version !== 2)
    throw new SyntaxError("Cannot play the recording: it is not asciicast version 2");
  let clock = 0;
  let written = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      throw new SyntaxError(`Cannot play the recording: line ${i + 1} is not JSON`);
    }
    if (!Array.isArray(event) || typeof event[0] !== "number" || typeof event[2] !== "string") {
      throw new SyntaxError(`Cannot play the recording: line ${i + 1} is not an event [time, code, data]`);
    }
    const [time, code, data] = event as [number, string, string];
    if (code !== "o") continue;
    const wait = (time - clock) / speed;
    if (wait > 0) await out.sleep(wait * 1000);
    clock = Math.max(clock, time);
    out.write(data);
    written++;
  }
  return written;
}
