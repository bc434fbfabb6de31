// PTY streams (frames.ts, "PTY streams"): the kind (pty-streams.ts), one stream (pty-stream.ts), the
// pty where the runtime has none (script-pty.ts), and the login shell (login-shell.ts).
export { PtyStreams, type PtyStreamsOptions } from "./pty-streams.ts";
