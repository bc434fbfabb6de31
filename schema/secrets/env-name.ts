import { ENV_NAME_PATTERN, RESERVED_ENV_NAMES } from "./limits.ts";

/** Checks an env var name; the message names what is wrong (never echoes more than 40 characters). */
export function checkEnvName(name: unknown): string {
  if (typeof name !== "string") throw new TypeError(`Cannot use env name: expected text, got ${typeof name}`);
  const shown = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);
  if (!ENV_NAME_PATTERN.test(name)) {
    throw new TypeError(
      `Cannot use env name ${shown}: a name is a letter or _ then letters, digits or _, at most 128 characters`,
    );
  }
  if (RESERVED_ENV_NAMES.has(name))
    throw new TypeError(`Cannot use env name ${shown}: the agent sets it itself`);
  return name;
}
