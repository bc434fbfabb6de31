export { LogsStreams } from "./logs-streams.ts";
