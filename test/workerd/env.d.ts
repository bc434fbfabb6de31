// The bindings the workerd unit tests' fixture Worker gets from vitest.config.ts: `env` from
// "cloudflare:workers" is typed by Cloudflare.Env (the Worker itself types its env as Bindings).
import type { AgentReportsFixture } from "./agent-reports-fixture.ts";
import type { AttachmentsFixture } from "./attachments-fixture.ts";
import type { FanoutPlansFixture } from "./fanout-plans-fixture.ts";
import type { RecorderFixture } from "./recorder-fixture.ts";
import type { RpcErrorsFixture } from "./rpc-errors-fixture.ts";
import type { StreamTableFixture } from "./stream-table-fixture.ts";

declare global {
  namespace Cloudflare {
    interface Env {
      AGENT_REPORTS: DurableObjectNamespace<AgentReportsFixture>;
      ATTACHMENTS: DurableObjectNamespace<AttachmentsFixture>;
      FANOUT_PLANS: DurableObjectNamespace<FanoutPlansFixture>;
      RPC_ERRORS: DurableObjectNamespace<RpcErrorsFixture>;
      RECORDER: DurableObjectNamespace<RecorderFixture>;
      ARTIFACTS: R2Bucket;
      STREAM_TABLE: DurableObjectNamespace<StreamTableFixture>;
    }
  }
}
