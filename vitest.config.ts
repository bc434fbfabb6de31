import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "test/**/*.test.ts",
      "schema/**/*.test.ts",
      "worker/**/*.test.ts",
      "agent/**/*.test.ts",
      "sdk/**/*.test.ts",
      "scripts/**/*.test.ts",
    ],
    // Cross-component tests start workerd, libSQL and agent processes: two files at a time on two cores.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ["test/harness/global-setup.ts"],
  },
});
