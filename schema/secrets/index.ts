// Env secrets the control plane cannot read: values encrypted by the client, their keys sealed to each
// recipient (hosts and secret keepers). See seal-value.ts, seal-key.ts and sealed-env.ts (contract 4).

export { type EnvBinding, envAssociatedData } from "./associated-data.ts";
export { checkEnvName } from "./env-name.ts";
export {
  DATA_KEY_BYTES,
  ENV_NAME_PATTERN,
  MAX_ENV_RECIPIENTS,
  MAX_ENV_VALUE_BYTES,
  MAX_ENV_VARS,
  MAX_ENV_VERSION,
  SEALED_KEY_BYTES,
  TAG_BYTES,
  VALUE_NONCE_BYTES,
} from "./limits.ts";
export {
  formatKeeperPublicKey,
  formatKeeperSecretKey,
  hostRecipientKey,
  hostRecipientSecret,
  isKeeperPublicKey,
  type KeeperPublicKey,
  type KeeperSecretKey,
  keeperPublicKeyBytes,
  keeperPublicKeyOf,
  keeperSecretKeyBytes,
  newKeeperKeyPair,
  parseKeeperPublicKey,
  parseRecipientId,
  type RecipientId,
} from "./recipient-key.ts";
export { openDataKey, sealDataKey } from "./seal-key.ts";
export { openEnvValue, type SealedValue, sealEnvValue } from "./seal-value.ts";
export {
  decodeSealedEnv,
  decodeSealedEnvEntry,
  EnvOpenError,
  encodeSealedEnvEntry,
  openSealedEnv,
  type SealedEnvEntry,
} from "./sealed-env.ts";
