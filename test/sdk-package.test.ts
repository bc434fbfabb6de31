// The SDK is publishable (issue 12, item 12): `npm pack` in sdk/ builds and packs @outpost/sdk, the
// tarball installs into a temporary project outside this repository (offline: its dependencies are
// linked from this repository's node_modules, since no registry is reached in tests), a TypeScript
// file there type-checks against the package's .d.ts, and Node imports the package and talks to a real
// control plane with it.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Stack, startStack } from "./harness/stack.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const modules = join(root, "node_modules");
const pkg = JSON.parse(readFileSync(join(root, "sdk/package.json"), "utf8")) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
};

let stack: Stack;
let dir: string;

function run(file: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      file,
      args,
      { cwd, env: { ...process.env, ...env }, timeout: 400_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const npm = (args: string[], cwd: string) =>
  run("npm", [...args, "--no-audit", "--no-fund", "--offline"], cwd, { npm_config_update_notifier: "false" });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "outpost-sdk-package-"));
  stack = await startStack();
}, 120_000);
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

it("packs, installs from the tarball, type-checks and runs outside the repository", async () => {
  const packed = await npm(["pack", "--json", "--pack-destination", dir], join(root, "sdk"));
  expect(packed.code, packed.stderr).toBe(0);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as {
    filename: string;
    files: { path: string }[];
  }[];
  const files = info!.files.map((f) => f.path);
  expect(files).toContain("dist/index.js");
  expect(files).toContain("dist/types/sdk/index.d.ts");
  // Only the built package: no source of this repository travels in it.
  expect(files.filter((f) => !f.startsWith("dist/") && f !== "package.json")).toEqual([]);

  const project = join(dir, "consumer");
  await run("mkdir", ["-p", project], dir);
  const linked = Object.fromEntries(
    [...Object.keys(pkg.dependencies), "@types/node"].map((name) => [name, `file:${join(modules, name)}`]),
  );
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({
      name: "consumer",
      version: "1.0.0",
      private: true,
      type: "module",
      dependencies: linked,
    }),
  );
  const installed = await npm(["install", join(dir, info!.filename)], project);
  expect(installed.code, installed.stderr).toBe(0);

  // Types: what a user's editor sees. The expect-error lines fail the check if the types were `any`.
  writeFileSync(
    join(project, "check.ts"),
    `import { Outpost, OutpostApiError } from "${pkg.name}";
const op = new Outpost({ url: "http://127.0.0.1:1", token: "opk_x" });
export async function names(): Promise<string[]> {
  const { clusters } = await op.clusters.list();
  // @ts-expect-error a cluster's name is a string
  const wrong: number = clusters[0]!.name;
  void wrong;
  return clusters.map((c) => c.name);
}
// @ts-expect-error a cluster is created from its name
void op.clusters.create(42);
export const isNotFound = (e: unknown) => e instanceof OutpostApiError && e.status === 404;
`,
  );
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        skipLibCheck: true,
        noEmit: true,
        types: ["node"],
      },
      files: ["check.ts"],
    }),
  );
  const typed = await run(process.execPath, [join(modules, "typescript/bin/tsc"), "-p", "."], project);
  expect(typed.stdout + typed.stderr).toBe("");
  expect(typed.code).toBe(0);

  // Runtime: plain Node, the installed package, a real control plane.
  writeFileSync(
    join(project, "use.mjs"),
    `import { Outpost, OutpostApiError } from "${pkg.name}";
const op = new Outpost({ url: process.env.OUTPOST_URL, token: process.env.OUTPOST_TOKEN });
await op.clusters.create("prod");
const again = await op.clusters.create("prod").catch((e) => e);
const { clusters } = await op.clusters.list();
console.log(JSON.stringify({ names: clusters.map((c) => c.name), conflict: again instanceof OutpostApiError && again.status }));
`,
  );
  const t = await stack.tenant("packaged");
  const used = await run(process.execPath, ["use.mjs"], project, {
    OUTPOST_URL: stack.url,
    OUTPOST_TOKEN: t.token,
  });
  expect(used.stderr).toBe("");
  expect(JSON.parse(used.stdout)).toEqual({ names: ["prod"], conflict: 409 });
}, 600_000);
