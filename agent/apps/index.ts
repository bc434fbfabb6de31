// The agent's app driver (issue 13): workloads of kind "app", supervised as detached processes.
export { Apps, type AppsOptions } from "./apps.ts";
export { cacheLimits } from "./artifact-cache.ts";
export { openAppEnv, prepareRelease } from "./release-inputs.ts";
