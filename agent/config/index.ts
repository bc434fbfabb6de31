export {
  type AgentConfig,
  CONFIG_FILE,
  mergeRunSettings,
  parseAgentConfig,
  type RunSettings,
} from "./agent-config.ts";
