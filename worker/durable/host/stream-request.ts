// The one way into a HostDO over fetch: WebSocket upgrades (an agent connecting, a client opening a
// stream). Everything else is a typed RPC method. The Worker checks a request (the key, the role, the
// host, the spec), then encodes the checked values here into a Request built from scratch: no header
// of the caller's ever reaches the object, so a copied credit, tenant or actor cannot skip a check
// (the security issue's credit fix, by construction). The object decodes and validates it again,
// since anything with the namespace binding can call it.
import { z } from "zod";
import { isId, type SessionId, type TenantId } from "../../../schema/ids.ts";
import { NAME_PATTERN, SERVICE_NAME_PATTERN, TARGET_PATTERN } from "../../../schema/names.ts";
import type { ExecSpec } from "../../../schema/protocol/exec-spec.ts";
import { CONSOLE_MODES, type ConsoleMode, isHostId } from "../../../schema/protocol/index.ts";
import type { HostId } from "../../../schema/protocol/keys.ts";
import {
  MAX_CONSOLE_LINES,
  MAX_PTY_COLS,
  MAX_PTY_ROWS,
  MAX_STREAM_CREDIT,
  MIN_STREAM_CREDIT,
} from "../../../schema/protocol/limits.ts";
import type { PtySpec } from "../../../schema/protocol/pty-spec.ts";
import { ApiError } from "../../http/api-error.ts";

const noNul = (what: string) =>
  z.string().refine((s) => !s.includes("\0"), { error: `${what} may not contain NUL` });

/** What an exec spec may hold (the route reports its issues as `spec.<field>: …`). */
export const execSpec = z.object({
  argv: z
    .array(noNul("argv items").max(64 * 1024))
    .min(1, { error: "needs at least the program to run" })
    .max(4096),
  cwd: noNul("cwd").max(4096).optional(),
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "names are [A-Za-z_][A-Za-z0-9_]*" }),
      noNul("env values").max(32 * 1024),
    )
    .refine((e) => Object.keys(e).length <= 256, { error: "at most 256 variables" })
    .optional(),
  timeout: z
    .number()
    .int()
    .min(1)
    .max(2 ** 31 - 1)
    .optional(),
  credit: z.number().int().min(MIN_STREAM_CREDIT).max(MAX_STREAM_CREDIT).optional(),
  record: z.boolean().optional(),
});

/** What a pty spec may hold: an exec's fields (argv optional: the login shell), and the terminal. */
export const ptySpec = z.object({
  argv: execSpec.shape.argv.optional(),
  cwd: execSpec.shape.cwd,
  env: execSpec.shape.env,
  cols: z.number().int().min(1).max(MAX_PTY_COLS),
  rows: z.number().int().min(1).max(MAX_PTY_ROWS),
  term: z
    .string()
    .regex(/^[A-Za-z0-9._+-]{1,64}$/, { error: "must be a terminal type like xterm-256color" })
    .optional(),
  credit: execSpec.shape.credit,
});

/** Who opens a client stream, on whose behalf, and how its host is named in refusals. */
interface Opener {
  tenantId: TenantId;
  /** How the session is recorded: `key:<id>`, `host:<id>` (mesh), `link:<exposure>`, … */
  actor: string;
  hostName: string;
}

export type StreamRequest =
  | { kind: "agent"; hostId: HostId }
  /**
   * `fanout`: a per-host run of a fan-out (ClusterDO, cluster/fanout.ts), which wrote this session's
   * row with every other host's in one batch and writes its end: the object uses the id, writes neither.
   */
  | (Opener & { kind: "exec"; spec: ExecSpec; fanout?: { session: SessionId } })
  /** `record`: the tenant records its terminal sessions (routes/host-streams.ts read the switch). */
  | (Opener & { kind: "pty"; spec: PtySpec; record: boolean })
  /** `credit` is what the client grants at once; the object keeps it within the documented range. */
  | (Opener & { kind: "tcp"; target: string; credit?: number; via?: TcpVia })
  /** An app's captured output: its last `lines` lines (written since `since`, ms), then more if `follow`. */
  | (Opener & { kind: "logs"; app: string; lines: number; follow: boolean; since?: number; credit?: number })
  /** A VM's serial console: live (`write`, `read`) or its history (`lines`, then more if `follow`). */
  | (Opener & {
      kind: "console";
      vm: string;
      mode: ConsoleMode;
      lines: number;
      follow: boolean;
      credit?: number;
    });

/** Who opened a tcp stream on a client's behalf, recorded as its session's kind: a mesh route, an exposure. */
type TcpVia = "mesh" | "exposure";

const opener = {
  tenantId: z.custom<TenantId>((v) => isId("tenant", v), { error: "must be a tenant id" }),
  actor: z.string().min(1),
  hostName: z.string().min(1),
};
const schema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("agent"), hostId: z.custom<HostId>(isHostId, { error: "must be a host id" }) }),
  z.object({
    ...opener,
    kind: z.literal("exec"),
    spec: execSpec,
    fanout: z
      .object({ session: z.custom<SessionId>((v) => isId("session", v), { error: "must be a session id" }) })
      .optional(),
  }),
  z.object({ ...opener, kind: z.literal("pty"), spec: ptySpec, record: z.boolean() }),
  z.object({
    ...opener,
    kind: z.literal("tcp"),
    target: z.string().regex(TARGET_PATTERN),
    // Mesh streams pass on the agent's own tcp.open credit: any count, kept to range by the object.
    credit: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .optional(),
    via: z.enum(["mesh", "exposure"]).optional(),
  }),
  z.object({
    ...opener,
    kind: z.literal("logs"),
    app: z.string().regex(SERVICE_NAME_PATTERN),
    lines: z.number().int().min(0).max(100_000),
    follow: z.boolean(),
    since: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    credit: z.number().int().min(MIN_STREAM_CREDIT).max(MAX_STREAM_CREDIT).optional(),
  }),
  z.object({
    ...opener,
    kind: z.literal("console"),
    vm: z.string().regex(NAME_PATTERN),
    mode: z.enum(CONSOLE_MODES),
    lines: z.number().int().min(0).max(MAX_CONSOLE_LINES),
    follow: z.boolean(),
    credit: z.number().int().min(MIN_STREAM_CREDIT).max(MAX_STREAM_CREDIT).optional(),
  }),
]);

/** A stream request a client makes through the Worker (everything but the agent's own connect). */
export type ClientRequest = Exclude<StreamRequest, { kind: "agent" }>;
/** The client-opened stream kinds: each has its module in kinds/ and its entry in kinds/index.ts. */
export type ClientKind = ClientRequest["kind"];

/** The initial credit a client stream's request asks for, if it names one (exec keeps it in its spec). */
export function askedCredit(req: ClientRequest): number | undefined {
  return "spec" in req ? req.spec.credit : req.credit;
}

/** The only header the object reads: the checked values, as URI-encoded JSON. */
const HEADER = "x-outpost-stream-request";

export function encodeStreamRequest(req: StreamRequest): Request {
  const headers = new Headers({ upgrade: "websocket", [HEADER]: encodeURIComponent(JSON.stringify(req)) });
  return new Request(`https://host.internal/${req.kind}`, { headers });
}

/** The request's values, or ApiError 426 (not an upgrade) / 400 (not a request the Worker built). */
export function decodeStreamRequest(request: Request): StreamRequest {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "upgrade_required", "this endpoint takes a WebSocket upgrade");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(decodeURIComponent(request.headers.get(HEADER) ?? ""));
  } catch {
    throw ApiError.badRequest(`Cannot open a stream: ${HEADER} is missing or not JSON`, "bad_stream_request");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw ApiError.badRequest(
      `Cannot open a stream: ${i.path.join(".") || "request"}: ${i.message}`,
      "bad_stream_request",
    );
  }
  if (new URL(request.url).pathname !== `/${parsed.data.kind}`) {
    throw ApiError.badRequest("Cannot open a stream: its path and kind differ", "bad_stream_request");
  }
  return parsed.data;
}
