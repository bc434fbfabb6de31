// Typed errors for SDK users: what the server refused (OutpostApiError, with its status and code) and
// what never reached it (OutpostConnectionError).

export class OutpostApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "OutpostApiError";
  }
}

export class OutpostConnectionError extends Error {
  constructor(url: string, cause: unknown) {
    super(
      `cannot reach the control plane at ${url}: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
    this.name = "OutpostConnectionError";
  }
}

/** A stream that was started but ended without an exit: the host disconnected, the relay refused a frame. */
export class OutpostStreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "OutpostStreamError";
  }
}
