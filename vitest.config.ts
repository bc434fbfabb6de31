import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/** compatibility_date and flags from wrangler.toml, so the workerd unit layer runs as the Worker does. */
import { wranglerCompat } from "./scripts/local/wrangler-compat.ts";

export default defineConfig({
  test: {
    // Cross-component tests start workerd, libSQL and agent processes: two files at a time on two cores.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: "node",
          include: [
            "test/**/*.test.ts",
            "schema/**/*.test.ts",
            "worker/**/*.test.ts",
            "agent/**/*.test.ts",
            "sdk/**/*.test.ts",
            "scripts/**/*.test.ts",
          ],
          exclude: ["test/workerd/**", "**/node_modules/**"],
          globalSetup: ["test/harness/global-setup.ts"],
        },
      },
      {
        // Unit tests inside real workerd (vitest-pool-workers): one small fixture object per behaviour.
        extends: true,
        plugins: [
          cloudflareTest({
            main: "./test/workerd/main.ts",
            miniflare: {
              ...wranglerCompat(),
              r2Buckets: ["ARTIFACTS"],
              durableObjects: {
                AGENT_REPORTS: "AgentReportsFixture",
                ATTACHMENTS: "AttachmentsFixture",
                FANOUT_PLANS: "FanoutPlansFixture",
                RPC_ERRORS: "RpcErrorsFixture",
                RECORDER: "RecorderFixture",
                STREAM_TABLE: "StreamTableFixture",
              },
            },
          }),
        ],
        test: { name: "workerd", include: ["test/workerd/**/*.test.ts"] },
      },
    ],
  },
});
