// Limits of env secrets. The Worker refuses what exceeds them before it stores anything, the CLI checks
// them before it encrypts, and the agent refuses a frame that carries more (sealed-env.ts).

/** Largest plaintext value, in bytes (16 KiB): a certificate or a key file fits, a database does not. */
export const MAX_ENV_VALUE_BYTES = 16 * 1024;

/** Most variables one app may have. */
export const MAX_ENV_VARS = 256;

/** Most recipients one value is sealed to (hosts the app runs on plus the tenant's keepers). */
export const MAX_ENV_RECIPIENTS = 1024;

/** Highest version of a variable; versions start at 1 and grow by one with each `env set`. */
export const MAX_ENV_VERSION = 2 ** 31 - 1;

/** An env var name: a POSIX portable name (IEEE Std 1003.1 §8.1), at most 128 characters. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Bytes of a data key (XChaCha20-Poly1305 key), of its nonce, and of the Poly1305 tag. */
export const DATA_KEY_BYTES = 32;
export const VALUE_NONCE_BYTES = 24;
export const TAG_BYTES = 16;

/** A sealed data key: the ephemeral X25519 public key (32) then the data key encrypted with its tag. */
export const SEALED_KEY_BYTES = 32 + DATA_KEY_BYTES + TAG_BYTES;

/** Names the Worker and agent refuse to let an env set, because the agent itself owns them. */
export const RESERVED_ENV_NAMES: ReadonlySet<string> = new Set(["PORT"]);
