// The Worker that the workerd unit tests (vitest-pool-workers) run beside: one small fixture object per
// behaviour under test, the partyserver way, each exporting what its test drives over Durable Object RPC.
export { AgentReportsFixture } from "./agent-reports-fixture.ts";
export { AttachmentsFixture } from "./attachments-fixture.ts";
export { FanoutPlansFixture } from "./fanout-plans-fixture.ts";
export { RecorderFixture } from "./recorder-fixture.ts";
export { RpcErrorsFixture } from "./rpc-errors-fixture.ts";
export { StreamTableFixture } from "./stream-table-fixture.ts";

export default {
  fetch(): Response {
    return new Response("workerd test fixtures: drive them through their Durable Object bindings", {
      status: 404,
    });
  },
};
