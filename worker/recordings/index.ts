// Session recordings (asciicast v2 in R2): the recorder a pty stream writes through, where each
// recording lives, and how a recording is read back.
export { concatParts } from "./concat-parts.ts";
export { partsPrefix, recordingKey } from "./keys.ts";
export { Recorder } from "./recorder.ts";
export type { RecordingState } from "./recording-state.ts";
