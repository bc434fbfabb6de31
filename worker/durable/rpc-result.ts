// How an ApiError crosses a Durable Object RPC call. The platform passes a thrown Error's message
// and nothing else (its class, status and code are lost), so a DO method that may refuse returns an
// RpcResult instead of throwing, and the caller unwraps it back into the same ApiError: one error
// shape on both sides of the call, rendered by the Worker's onError like any other.
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError } from "../http/api-error.ts";

export type RpcResult<T> =
  | { ok: true; value: T }
  | { ok: false; error: { status: ContentfulStatusCode; code: string; message: string } };

/** Runs `work` inside the DO: its value, or the ApiError it threw as data. Other errors still throw. */
export async function rpcResult<T>(work: () => T | Promise<T>): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return { ok: false, error: { status: err.status, code: err.code, message: err.message } };
  }
}

/** The caller's side: the value, or the DO's refusal thrown again as the ApiError it was. */
export function unwrap<T>(result: RpcResult<T>): T {
  if (result.ok) return result.value;
  throw new ApiError(result.error.status, result.error.code, result.error.message);
}
