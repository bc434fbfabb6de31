// Hard limits of the wire format. Both sides enforce them on receive and check them on send, so a
// well-behaved peer never sends what the other refuses. Changing one is a capability bump (frames.ts).

/** Largest WebSocket message, in bytes (1 MiB). Bulk data is chunked well below this. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Largest `data` / `stdin` / `stdout` / `stderr` chunk, in bytes (256 KiB). */
export const MAX_CHUNK_BYTES = 256 * 1024;

/**
 * Largest credit one `credit` frame (or an open's `credit`) may grant, and the most a sender may hold
 * at once (2^32 - 1): no receiver buffers 4 GiB for one stream, so a peer that grants beyond it is
 * broken or hostile, and the bound keeps every sum of grants an exact integer.
 */
export const MAX_CREDIT = 0xffffffff;

/** The window a client grants by default: enough to keep a fast link busy, small enough to bound memory. */
export const DEFAULT_STREAM_CREDIT = 4 * 1024 * 1024;

/**
 * The initial credit a client may ask for (spec.credit, the tcp `credit` query), and the most a
 * stream's receiver may have outstanding at the relay at once: what the relay may have to hold for a
 * reader that stops reading. The HostDO trims credit frames that would grant beyond it.
 */
export const MIN_STREAM_CREDIT = 1024;
export const MAX_STREAM_CREDIT = 64 * 1024 * 1024;

/**
 * Deepest nesting of arrays and maps in one CBOR item (16). Frames need 4 (`config`); the rest is
 * room to grow. The cap also bounds the decoder's recursion, so hostile input cannot exhaust the stack.
 */
export const MAX_NESTING = 16;

/**
 * Most services, and most mesh listeners, one `config` lists: both lists full, of the longest entries,
 * still fit in one message.
 */
export const MAX_CONFIG_ENTRIES = 1024;

/** Longest service target in a `config`: a 253-character DNS name, a colon and a port, or less. */
export const MAX_TARGET_TEXT = 261;

/** Most services, and most listeners, one `report` lists (cap 5): with MAX_REPORT_TEXT, well under a
 *  message (1024 × (63 + 261 + 160) bytes ≈ 500 KiB each list). */
export const MAX_REPORT_ENTRIES = 1024;

/** Longest reason or error text in a `report` entry. */
export const MAX_REPORT_TEXT = 160;

/** How long the control plane waits for hello after sending challenge before closing with 4408. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Heartbeat intervals (ReadyFrame.heartbeat) without any frame from the peer before closing with 4408. */
export const HEARTBEAT_MISSES = 3;

/**
 * The exec allowlist an agent reports in hello's facts (capability 4): at most 64 argv prefixes of at
 * most 16 items of at most 256 characters each, so that a full list (786 KiB in UTF-8 at worst) still
 * leaves hello within MAX_MESSAGE_BYTES. The agent refuses longer lists at start.
 */
export const MAX_EXEC_ALLOW_ENTRIES = 64;
export const MAX_EXEC_PREFIX_ITEMS = 16;
export const MAX_EXEC_ARG_TEXT = 256;

/** A terminal's size, as pty.open and resize carry it (TIOCSWINSZ takes 16-bit counts). */
export const MAX_PTY_COLS = 1000;
export const MAX_PTY_ROWS = 1000;
/** A job's result keeps the last this many bytes of each stream (stdout, stderr), over all its steps. */
export const JOB_OUTPUT_TAIL = 64 * 1024;
/** At most this many steps in one job. */
export const MAX_JOB_STEPS = 64;

/** A console.open's `lines`: how much of a VM console's history it may ask for. */
export const MAX_CONSOLE_LINES = 100_000;
/**
 * A VM console's history, kept by the agent per VM (agent/vm/console-history.ts): the file is rotated
 * to `.1` at this size, so the two never hold more than twice it, however much the guest prints.
 */
export const CONSOLE_HISTORY_BYTES = 1024 * 1024;
/**
 * What the agent holds for one console stream whose reader has no credit left. Beyond it the oldest
 * output is dropped for that stream alone (and the stream told how much), so a client that ignores
 * flow control costs the agent this much and never stalls the guest or the other streams.
 */
export const CONSOLE_BACKLOG_BYTES = 256 * 1024;
