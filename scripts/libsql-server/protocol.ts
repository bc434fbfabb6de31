// The Hrana-over-HTTP wire format (JSON encoding), versions 2 and 3, in one place.
//
// Spec: libSQL docs/HRANA_3_SPEC.md, §"Hrana over HTTP" (pipeline bodies, stream requests) and
// §"Shared structures" (Error, Stmt, StmtResult, Batch, BatchCond, DescribeResult, Value).
//
// Protocol flow: the client POSTs `{ baton, requests }` to `v2/pipeline` or `v3/pipeline`. A null baton
// opens a new stream (one SQLite connection). The server runs the requests in order and answers
// `{ baton, base_url, results }`: one result per request, and a fresh baton for the next request on the
// stream, or null once the stream is closed.
//
// Requests are validated here (unknown fields are ignored, as the spec requires for forward
// compatibility); responses are plain TypeScript types. Protobuf (`v3-protobuf`) is not served; the
// JSON cursor (`v3/cursor`, cursor.ts) is.
import { z } from "zod";
import { type HranaErrorBody, protocolError } from "./errors.ts";

/** The Hrana version of the endpoint a pipeline came in on (`v2/…` or `v3/…`). */
export type HranaVersion = 2 | 3;

/** Features newer than the endpoint's version are protocol errors, as in sqld. */
export function requireVersion(version: HranaVersion, min: HranaVersion, what: string): void {
  if (version < min) {
    throw protocolError("NOT_SUPPORTED", `${what} is only supported in protocol version ${min} and higher`);
  }
}

const int32 = z
  .number()
  .int()
  .min(-(2 ** 31))
  .max(2 ** 31 - 1);
const uint32 = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

// §Values: integers travel as decimal strings so that JSON parsers keep all 64 bits.
const integerText = z
  .string()
  .regex(/^-?\d+$/, "integer value must be a decimal string")
  .refine((text) => {
    const n = BigInt(text);
    return n >= I64_MIN && n <= I64_MAX;
  }, "integer value is out of the 64-bit signed range");

const base64Text = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "blob value must be standard base64");

const ValueSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("null") }),
  z.object({ type: z.literal("integer"), value: integerText }),
  z.object({ type: z.literal("float"), value: z.number() }),
  z.object({ type: z.literal("text"), value: z.string() }),
  z.object({ type: z.literal("blob"), base64: base64Text }),
]);
export type Value = z.infer<typeof ValueSchema>;

const NamedArgSchema = z.object({ name: z.string(), value: ValueSchema });
export type NamedArg = z.infer<typeof NamedArgSchema>;

const StmtSchema = z.object({
  sql: z.string().nullish(),
  sql_id: int32.nullish(),
  args: z.array(ValueSchema).nullish(),
  named_args: z.array(NamedArgSchema).nullish(),
  want_rows: z.boolean().nullish(),
});
export type Stmt = z.infer<typeof StmtSchema>;

export type BatchCond =
  | { type: "ok"; step: number }
  | { type: "error"; step: number }
  | { type: "not"; cond: BatchCond }
  | { type: "and"; conds: BatchCond[] }
  | { type: "or"; conds: BatchCond[] }
  | { type: "is_autocommit" };

const BatchCondSchema: z.ZodType<BatchCond> = z.lazy(() =>
  z.discriminatedUnion("type", [
    z.object({ type: z.literal("ok"), step: uint32 }),
    z.object({ type: z.literal("error"), step: uint32 }),
    z.object({ type: z.literal("not"), cond: BatchCondSchema }),
    z.object({ type: z.literal("and"), conds: z.array(BatchCondSchema) }),
    z.object({ type: z.literal("or"), conds: z.array(BatchCondSchema) }),
    z.object({ type: z.literal("is_autocommit") }),
  ]),
);

const BatchSchema = z.object({
  steps: z.array(z.object({ condition: BatchCondSchema.nullish(), stmt: StmtSchema })),
});
export type Batch = z.infer<typeof BatchSchema>;

const sqlSource = { sql: z.string().nullish(), sql_id: int32.nullish() };

const StreamRequestSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("close") }),
  z.object({ type: z.literal("execute"), stmt: StmtSchema }),
  z.object({ type: z.literal("batch"), batch: BatchSchema }),
  z.object({ type: z.literal("sequence"), ...sqlSource }),
  z.object({ type: z.literal("describe"), ...sqlSource }),
  z.object({ type: z.literal("store_sql"), sql_id: int32, sql: z.string() }),
  z.object({ type: z.literal("close_sql"), sql_id: int32 }),
  z.object({ type: z.literal("get_autocommit") }),
]);
export type StreamRequest = z.infer<typeof StreamRequestSchema>;

const PipelineReqBodySchema = z.object({
  baton: z.string().nullish(),
  requests: z.array(StreamRequestSchema),
});
export type PipelineReqBody = z.infer<typeof PipelineReqBodySchema>;

/** Validates a parsed JSON body; a body that does not fit is a protocol error naming the first problem. */
export function parsePipelineReqBody(json: unknown): PipelineReqBody {
  const parsed = PipelineReqBodySchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  throw protocolError(
    "PROTOCOL_ERROR",
    `Invalid pipeline request body: ${where}${issue?.message ?? "invalid"}`,
  );
}

const CursorReqBodySchema = z.object({ baton: z.string().nullish(), batch: BatchSchema });
export type CursorReqBody = z.infer<typeof CursorReqBodySchema>;

/** Validates a parsed cursor request (`{ baton, batch }`), as parsePipelineReqBody does pipelines. */
export function parseCursorReqBody(json: unknown): CursorReqBody {
  const parsed = CursorReqBodySchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  throw protocolError(
    "PROTOCOL_ERROR",
    `Invalid cursor request body: ${where}${issue?.message ?? "invalid"}`,
  );
}

// ## Responses

export interface Col {
  name: string | null;
  decltype: string | null;
}

export interface StmtResult {
  cols: Col[];
  rows: Value[][];
  affected_row_count: number;
  last_insert_rowid: string | null;
  /** Added after Hrana 3 by sqld; clients that do not know it ignore it. */
  query_duration_ms: number;
}

export interface BatchResult {
  step_results: Array<StmtResult | null>;
  step_errors: Array<HranaErrorBody | null>;
}

export interface DescribeResult {
  params: Array<{ name: string | null }>;
  cols: Array<{ name: string; decltype: string | null }>;
  is_explain: boolean;
  is_readonly: boolean;
}

export type StreamResponse =
  | { type: "close" }
  | { type: "execute"; result: StmtResult }
  | { type: "batch"; result: BatchResult }
  | { type: "sequence" }
  | { type: "describe"; result: DescribeResult }
  | { type: "store_sql" }
  | { type: "close_sql" }
  | { type: "get_autocommit"; is_autocommit: boolean };

export type StreamResult =
  | { type: "ok"; response: StreamResponse }
  | { type: "error"; error: HranaErrorBody };

export interface PipelineRespBody {
  baton: string | null;
  /** Always null: streams live in this process, so the client keeps using the URL it has. */
  base_url: string | null;
  results: StreamResult[];
}
