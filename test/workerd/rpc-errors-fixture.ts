// A Durable Object that refuses the way the HostDO and ClusterDO do (worker/durable/rpc-result.ts):
// `refuse` returns its ApiError as an RpcResult, `throwAcross` throws it, to show what RPC drops.
import { DurableObject } from "cloudflare:workers";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type RpcResult, rpcResult } from "../../worker/durable/rpc-result.ts";
import { ApiError } from "../../worker/http/api-error.ts";

export class RpcErrorsFixture extends DurableObject {
  async refuse(status: ContentfulStatusCode, code: string, message: string): Promise<RpcResult<string>> {
    return rpcResult(() => {
      throw new ApiError(status, code, message);
    });
  }

  async answer(value: string): Promise<RpcResult<string>> {
    return rpcResult(() => value);
  }

  async failPlainly(message: string): Promise<RpcResult<string>> {
    return rpcResult(() => {
      throw new TypeError(message);
    });
  }

  async throwAcross(): Promise<string> {
    throw new ApiError(409, "host_offline", "thrown across RPC");
  }
}
