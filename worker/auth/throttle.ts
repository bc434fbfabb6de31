// Throttling of failed authentication (API keys, the platform admin token, enrollment tokens, exposure
// links), counted in ThrottleDO windows (durable/throttle-do.ts says why not the Rate Limiting binding).
//
// Security: only failures count, so an honest client is never slowed by its own traffic, and they count
// twice, against the client's address and against what was attacked (a key's or token's prefix, an
// exposure's links) with a higher allowance:
// - an address over its allowance gets 429 before its credential is looked at, so a guesser learns
//   nothing more from it, right guess included, until the window ends; honest clients behind the same
//   address (a NAT) wait with it;
// - what was attacked being over its allowance never refuses its right credential: a wrong one gets
//   429, a right one still gets in. A guesser spread over many addresses therefore still has each try
//   checked (each address within its own allowance); the secrets carry 200 bits (schema/ids.ts), so
//   that does not make guessing feasible, and it means no guesser can lock a key's holder out.
// Only prefixes of keys and tokens that exist are counted, so made-up prefixes cannot open windows (and
// audit events) without end; an unknown one counts against the address alone.

import type { TenantId } from "../../schema/ids.ts";
import type { Bindings } from "../env.ts";
import { ApiError } from "../http/api-error.ts";
import { clientAddress } from "./client-address.ts";

/** Failures allowed per window, per address and per thing attacked. */
export const ALLOWANCE = { address: 20, apiKey: 100, enrollment: 50, link: 100 } as const;
/** The window; AUTH_THROTTLE_WINDOW_MS shortens it for tests. */
const WINDOW_MS = 60_000;

/** What a refused credential was aimed at, besides the address it came from. */
export interface Attacked {
  scope: "apiKey" | "enrollment" | "link";
  /** The key's or token's lookup prefix, or the exposure's id. */
  id: string;
  tenantId: TenantId;
  /** The audit event's target: `key:<id>`, `token:<id>`, `exposure:<name>`. */
  target: string;
  /** How the 429 names it: `API key opk_<prefix>_…`. */
  label: string;
}

export class AuthThrottle {
  readonly address: string;
  readonly #env: Bindings;
  readonly #check: Promise<number>;

  /** Starts asking whether the address is over its allowance, so the answer arrives beside the lookup. */
  constructor(env: Bindings, headers: Headers) {
    this.#env = env;
    this.address = clientAddress(headers);
    this.#check = this.#object(`address:${this.address}`).check();
    // Awaited in gate(); a caller refused before that must not leave a rejection unhandled.
    this.#check.catch(() => {});
  }

  /** ApiError 429 when the address is over its allowance; call before the credential is compared. */
  async gate(): Promise<void> {
    const wait = await this.#check;
    if (wait > 0) throw this.#byAddress(wait);
  }

  /**
   * Counts a refused credential and gives back the error to throw: `refusal`, or 429 once the address
   * or what was attacked has gone over its allowance.
   */
  async failed(refusal: ApiError, reason: string, action: string, attacked?: Attacked): Promise<ApiError> {
    const windowMs = Number(this.#env.AUTH_THROTTLE_WINDOW_MS) || WINDOW_MS;
    const failure = { reason, action, address: this.address };
    const [byAddress, byTarget] = await Promise.all([
      this.#object(`address:${this.address}`).fail(
        { limit: ALLOWANCE.address, windowMs },
        { ...failure, tenantId: null, actor: `address:${this.address}`, target: null },
      ),
      attacked
        ? this.#object(`${attacked.scope}:${attacked.id}`).fail(
            { limit: ALLOWANCE[attacked.scope], windowMs },
            { ...failure, tenantId: attacked.tenantId, actor: "anonymous", target: attacked.target },
          )
        : 0,
    ]);
    if (byAddress > 0) return this.#byAddress(byAddress);
    if (attacked && byTarget > 0) {
      return ApiError.tooManyRequests(
        `too many wrong secrets for ${attacked.label}: wait ${byTarget} s (Retry-After) before trying another; its right secret is not locked out and still gets in`,
        byTarget,
      );
    }
    return refusal;
  }

  #object(name: string) {
    return this.#env.THROTTLE.get(this.#env.THROTTLE.idFromName(name));
  }

  #byAddress(seconds: number): ApiError {
    return ApiError.tooManyRequests(
      `too many failed authentication attempts from ${this.address}: wait ${seconds} s (Retry-After), then retry with a valid credential`,
      seconds,
    );
  }
}
