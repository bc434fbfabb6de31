// The `?spec=` of an exec (one host's or a fan-out's): base64url JSON, checked field by field.
import { decodeExecSpec, type ExecSpec } from "../../schema/protocol/exec-spec.ts";
import { execSpec } from "../durable/host/stream-request.ts";
import { ApiError } from "./api-error.ts";
import { sentence } from "./validate.ts";

/** The checked spec, or ApiError 400 naming the field. */
export function execSpecParam(text: string | undefined): ExecSpec {
  let raw: unknown;
  try {
    raw = decodeExecSpec(text ?? "");
  } catch {
    throw ApiError.badRequest("spec: must be base64url JSON {argv, cwd?, env?, timeout?, record?}");
  }
  const parsed = execSpec.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw ApiError.badRequest(`spec.${i.path.join(".") || "argv"}: ${sentence(i)}`);
  }
  return parsed.data;
}
