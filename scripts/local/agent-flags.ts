// OUTPOST_AGENT_FLAGS: extra `run` flags for the agent `npm start` runs, such as
// `--service ssh=127.0.0.1:22 --allow-net 10.0.0.0/8`. The text is split into argv words the way a
// shell would quote them (shell-quote), but never run through a shell: no expansion, no operators, so
// `;`, `|`, `>`, globs and `$VAR` are refused rather than half-understood. The agent checks each flag
// itself (agent/args.ts), so a bad service fails the start with the agent's own message.
import { parse } from "shell-quote";

/** The argv words of `text`; throws TypeError naming what it refused. */
export function parseAgentFlags(text: string | undefined): string[] {
  if (text === undefined || text.trim() === "") return [];
  const words: string[] = [];
  // A function for env keeps `$NAME` from expanding; we refuse it below instead.
  const tokens = parse(text, (name) => `\0$${name}`);
  for (const token of tokens) {
    if (typeof token !== "string") {
      const what =
        "comment" in token
          ? "a comment"
          : token.op === "glob"
            ? `the pattern '${token.pattern}'`
            : `'${token.op}'`;
      throw new TypeError(
        `OUTPOST_AGENT_FLAGS: ${what} is not allowed: give agent flags only, e.g. --service ssh=127.0.0.1:22`,
      );
    }
    if (token.includes("\0")) {
      throw new TypeError("OUTPOST_AGENT_FLAGS: variables ($NAME) are not expanded: write the value itself");
    }
    words.push(token);
  }
  if (words[0] !== undefined && !words[0].startsWith("--")) {
    throw new TypeError(`OUTPOST_AGENT_FLAGS: '${words[0]}' is not a flag (they start with --)`);
  }
  return words;
}
