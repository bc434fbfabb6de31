// The agent's one error class for things a person must act on. Its message is the line printed after
// "outpost-agent: ", in two halves: what failed; what to do.

export class AgentError extends Error {
  override name = "AgentError";
  /** Process exit code: 1 for a failure, 2 for a usage error. */
  readonly exitCode: 1 | 2;

  constructor(what: string, todo: string, exitCode: 1 | 2 = 1, options?: ErrorOptions) {
    super(`${what}; ${todo}`, options);
    this.exitCode = exitCode;
  }
}

/** A usage error (exit 2) that points at --help. */
export function usageError(what: string): AgentError {
  return new AgentError(what, "run 'outpost-agent --help' for usage", 2);
}

/** One line: newlines in `text` (e.g. from a server message) become spaces. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}
