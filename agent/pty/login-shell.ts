// The login shell of the user the agent runs as: what `outpost shell` runs when no argv is given.
// From the password database (node:os userInfo reads getpwuid), else $SHELL, else /bin/sh; `-l` makes
// it a login shell (bash, zsh, dash, fish and busybox sh all take it).
import { userInfo } from "node:os";

export function loginShell(env: (name: string) => string | undefined): string[] {
  let shell: string | null | undefined;
  try {
    shell = userInfo().shell;
  } catch {}
  return [shell || env("SHELL") || "/bin/sh", "-l"];
}
