export { JobRunner } from "./job-runner.ts";
