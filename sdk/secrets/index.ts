// Env secrets in the SDK: set (encrypt and seal here), list, remove, keepers, and re-sealing for new hosts.
export { envApi, keeperApi } from "./api.ts";
export { sealEnvForDeploy } from "./deploy-env.ts";
export { createLocalKeeper, type LocalKeeper, localKeepers } from "./keeper-store.ts";
export { resealForHosts } from "./reseal.ts";
export { type SetEnvResult, setEnv } from "./set-env.ts";
