// Pseudo-terminals where the runtime has none of its own (Deno: Deno.Command has only pipes, and its
// FFI cannot fork): util-linux's `script`, which every Linux with util-linux has, opens a pty, runs
// the command on it as its controlling terminal (so Ctrl-C, Ctrl-Z and job control work), relays
// our pipes to it, and with -e exits with the command's status. `script -qfec <command> /dev/null`:
// quiet, flush at once, the command's exit code, no typescript file.
//
// script takes the command as one string for `$SHELL -c`, so argv is quoted here for POSIX sh (every
// item in single quotes, a quote as '\''), which leaves nothing in it for the shell to interpret; sh
// runs it, not the user's shell, whose syntax may differ. The same string first sets the terminal's
// size (stty), since script gives its pty the size of its own stdin, which is a pipe.
//
// Resize: the pty's slave is the child's stdin; it is found in /proc (script's child, its fd 0) and
// set with `stty -F <pts> cols C rows R`, which the kernel follows with SIGWINCH to the foreground
// process group, as for any terminal.
import { readFileSync, readlinkSync } from "node:fs";
import type { PtyOptions, PtyProcess, Runtime } from "../runtime/index.ts";

/** argv as one POSIX sh word list: each item single-quoted. */
function _shellQuote(argv: readonly string[]): string {
  return argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
}

export function scriptSpawnPty(
  runtime: Pick<Runtime, "spawn">,
  argv: readonly string[],
  options: PtyOptions,
): PtyProcess {
  const env = options.env ?? {};
  const user = env.SHELL;
  // script runs the command with $SHELL -c: sh here; the user's SHELL is put back for the command.
  const command = `stty cols ${options.cols} rows ${options.rows} 2>/dev/null; ${
    user !== undefined ? `SHELL=${_shellQuote([user])} ` : ""
  }exec ${_shellQuote(argv)}`;
  const child = runtime.spawn(["script", "-qfec", command, "/dev/null"], {
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    env: { ...env, SHELL: "/bin/sh" },
  });
  let pts: string | undefined;
  let closed = false;
  const findPts = (): string | undefined => {
    if (pts) return pts;
    try {
      const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8")
        .trim()
        .split(/\s+/);
      const link = children[0] ? readlinkSync(`/proc/${children[0]}/fd/0`) : "";
      if (/^\/dev\/pts\/\d+$/.test(link)) pts = link;
    } catch {}
    return pts;
  };
  return {
    pid: child.pid,
    input: child.stdin,
    output: child.stdout,
    exited: child.exited,
    resize(cols, rows) {
      const tty = findPts();
      if (!tty || closed) return;
      try {
        runtime.spawn(["stty", "-F", tty, "cols", String(cols), "rows", String(rows)]).exited.catch(() => {});
      } catch {}
    },
    kill: (signal) => child.kill(signal),
    close() {
      if (closed) return;
      closed = true;
      child.kill("SIGHUP"); // script hangs up its pty: the session gets SIGHUP
      child.stdout.cancel().catch(() => {});
      child.stderr.cancel().catch(() => {});
    },
  };
}
