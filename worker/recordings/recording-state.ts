// What a recorded pty stream keeps in its socket's attachment (host/attachments.ts), so that a
// recording goes on where it was if the object is evicted and woken again between its events.

export interface RecordingState {
  /** When the session started (ms since the epoch): event times are seconds after it. */
  at: number;
  /** The terminal at the start, for the asciicast header. */
  cols: number;
  rows: number;
  term: string;
  /** Parts written so far (uploads/recordings/<tenant>/<session>/<n>), and their bytes together. */
  parts: number;
  bytes: number;
  /** The session's cap was reached: nothing more is recorded. */
  full?: true;
}
