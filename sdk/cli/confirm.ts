// Asking before something that cannot be undone: --force, or a "y" typed on a terminal. Without a
// terminal to ask on (a script, a pipe) and without --force, the command is refused as mistyped.
import { createInterface } from "node:readline/promises";
import type { Context } from "./command.ts";
import { UsageError } from "./usage-error.ts";

export async function confirm(
  ctx: Context,
  question: string,
  force: boolean,
  help: string,
): Promise<boolean> {
  if (force) return true;
  if (!process.stdin.isTTY || !process.stderr.isTTY)
    throw new UsageError(`${question}: refused without --force (no terminal to ask on)`, help);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question}? [y/N] `);
    if (/^y(es)?$/i.test(answer.trim())) return true;
    ctx.io.err("outpost: not confirmed; nothing changed");
    return false;
  } finally {
    rl.close();
  }
}
