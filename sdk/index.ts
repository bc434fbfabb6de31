export {
  listArtifacts,
  type PackedArtifact,
  type PackOptions,
  packArtifact,
  type UploadOptions,
  type UploadResult,
  uploadArtifact,
} from "./artifacts/index.ts";
export { type Api, type ClientOptions, createApi, unwrap } from "./client.ts";
export { OutpostApiError, OutpostConnectionError, OutpostStreamError } from "./errors.ts";
export { Outpost } from "./outpost.ts";
export {
  createLocalKeeper,
  envApi,
  keeperApi,
  type LocalKeeper,
  localKeepers,
  resealForHosts,
  type SetEnvResult,
  setEnv,
} from "./secrets/index.ts";
export type { ConsoleAttach, ConsoleStream } from "./streams/console.ts";
export type { ExecResult, ExecStream } from "./streams/exec.ts";
export type { LogsOptions, LogsStream } from "./streams/logs.ts";
export type { TcpStream } from "./streams/tcp.ts";
export {
  createVm,
  listVmImages,
  listVms,
  pushVmImage,
  removeVm,
  removeVmImage,
  removeVmSnapshot,
  restoreVm,
  showVm,
  showVmImage,
  snapshotVm,
  type VmImageFiles,
  type VmState,
  type VmView,
  vmAction,
  waitForVm,
  waitForVmAction,
} from "./vm/index.ts";
