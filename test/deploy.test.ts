// `wrangler deploy --dry-run` bundles the Worker exactly as a real deploy would, from wrangler.toml.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

it("bundles for deployment with wrangler, with both Durable Object bindings", () => {
  const outdir = mkdtempSync(join(tmpdir(), "outpost-dry-"));
  const res = spawnSync(
    join(root, "node_modules/.bin/wrangler"),
    ["deploy", "--dry-run", "--outdir", outdir],
    {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  expect(res.status, res.stderr).toBe(0);
  expect(res.stdout).toContain("env.HOST (HostDO)");
  expect(res.stdout).toContain("env.CLUSTER (ClusterDO)");
  expect(res.stdout).toContain("--dry-run: exiting now.");
});
