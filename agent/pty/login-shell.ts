// The login shell of the user the agent runs as: what `outpost shell` runs when no argv is given.
// From the password database (node:os userInfo reads getpwuid), else $SHELL, else /bin/sh; `-l` makes
// it a login shell (bash, zsh, dash, fish and busybox sh all take it). A candidate counts only when it
// is an absolute path to an executable file: Bun answers "unknown" for a uid the password database
// does not know (a container's or CI's user), and an empty or relative $SHELL is no better.
import { accessSync, constants, statSync } from "node:fs";
import { userInfo } from "node:os";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function loginShell(
  env: (name: string) => string | undefined,
  passwdShell: () => string | null | undefined = () => userInfo().shell,
  isExecutable: (path: string) => boolean = executable,
): string[] {
  let fromPasswd: string | null | undefined;
  try {
    fromPasswd = passwdShell();
  } catch {}
  const shell = [fromPasswd, env("SHELL")].find(
    (candidate): candidate is string => !!candidate?.startsWith("/") && isExecutable(candidate),
  );
  return [shell ?? "/bin/sh", "-l"];
}
