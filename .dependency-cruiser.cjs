// Import rules checked by `npm run check:imports` (dependency-cruiser): no circles, and the parts of
// DESIGN.md depend on each other only the way it draws them.
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment:
        "An import circle: split the shared part into a module both sides import. Circles of type imports alone are allowed: Durable Objects that call each other over RPC are typed by each other's classes (worker/env.ts), which costs nothing at run time.",
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
    {
      name: "product-not-on-tooling",
      severity: "error",
      comment: "Product code (worker, agent, sdk, schema) never imports scripts/ or test/.",
      from: { path: "^(worker|agent|sdk|schema)/", pathNot: "\\.test\\.ts$" },
      to: { path: "^(scripts|test)/" },
    },
    {
      name: "parts-stay-apart",
      severity: "error",
      comment: "The Worker, the agent and the SDK share only schema/.",
      from: { path: "^(worker|agent|sdk)/", pathNot: "\\.test\\.ts$" },
      // The SDK's client is typed from the Worker's routes (hono's hc<AppType>): a type import only.
      to: { path: "^(worker|agent|sdk)/", pathNot: "^$1/", dependencyTypesNot: ["type-only"] },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist|worker/generated)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    moduleSystems: ["es6"],
  },
};
