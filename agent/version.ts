// The agent's version, sent in hello and printed by `version`. Kept equal to package.json's by a test
// (agent/cli.test.ts) rather than imported, so the bundle does not carry the whole package.json.
export const AGENT_VERSION = "0.1.0";
