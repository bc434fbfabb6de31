// Exec streams (frames.ts, "Exec streams"): the kind (exec-streams.ts), one stream (exec-stream.ts), its
// stdin (exec-stdin.ts), and what the host's owner allows (exec-policy.ts).
export { type ExecPolicy, execFacts, execRefusal, parseExecPolicy } from "./exec-policy.ts";
export { ExecStdin, STDIN_WINDOW_BYTES } from "./exec-stdin.ts";
export { ExecStream, type ExecStreamOptions } from "./exec-stream.ts";
export { DRAIN_GRACE_MS, ExecStreams, type ExecStreamsOptions } from "./exec-streams.ts";
